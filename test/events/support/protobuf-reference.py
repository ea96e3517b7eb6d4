"""Reference decoder for the wire fuzz test (test/events/wire-fuzz.test.ts).

Reads a FileDescriptorSet (argv[1]), then JSON lines {"type": full name, "b64": bytes}
on stdin; writes one JSON line per input:
  {"ok": true, "json": <MessageToDict with defaults>}
  {"ok": false, "reason": ...}          the reference refuses the bytes
  {"ok": true, "json": null, "jsonError": ...}   parsed, but has no proto3 JSON form
A known field number among a message's unknown fields (a known field sent with
another wire type: protobuf keeps it as unknown) is reported as
{"ok": false, "reason": "wrong wire type ..."}: this project refuses those on
purpose (documented in docs), so the test compares refusals.
"""
import base64
import json
import sys
import warnings

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

warnings.simplefilter("ignore", DeprecationWarning)  # Message.UnknownFields()

with open(sys.argv[1], "rb") as fh:
    fds = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
pool = descriptor_pool.DescriptorPool()
for f in fds.file:
    pool.Add(f)
factory = message_factory.MessageFactory(pool)
classes = {}


def wrong_wire_type(msg):
    desc = msg.DESCRIPTOR
    for u in msg.UnknownFields():
        if desc.fields_by_number.get(u.field_number) is not None:
            return f"{desc.full_name} field {u.field_number} with wire type {u.wire_type}"
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            vfield = field.message_type.fields_by_name["value"]
            items = list(value.values()) if vfield.message_type is not None else []
        elif field.label == field.LABEL_REPEATED:
            items = list(value)
        else:
            items = [value]
        for item in items:
            found = wrong_wire_type(item)
            if found:
                return found
    return None


for line in sys.stdin:
    req = json.loads(line)
    name = req["type"]
    if name not in classes:
        classes[name] = factory.GetPrototype(pool.FindMessageTypeByName(name))
    msg = classes[name]()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            msg.ParseFromString(base64.b64decode(req["b64"]))
    except Exception as e:  # DecodeError
        print(json.dumps({"ok": False, "reason": f"{type(e).__name__}: {e}"}))
        continue
    stopped = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if stopped:  # "Unexpected end-group tag: Not all data was converted" (field 0, a stray end-group)
        print(json.dumps({"ok": False, "reason": "RuntimeWarning: " + stopped[0]}))
        continue
    bad = wrong_wire_type(msg)
    if bad:
        print(json.dumps({"ok": False, "reason": "wrong wire type: " + bad}))
        continue
    try:
        out = json_format.MessageToDict(msg, including_default_value_fields=True)
    except Exception as e:
        print(json.dumps({"ok": True, "json": None, "jsonError": f"{type(e).__name__}: {e}"}))
        continue
    print(json.dumps({"ok": True, "json": out}))
sys.stdout.flush()
