/**
 * A client that knows nothing but server reflection (Postman's and grpcurl's
 * way), in Debian's python3: it lists the services, asks for each one's file
 * with its dependencies, builds every request type from the reflected
 * descriptors alone (protobuf's strict descriptor pool), fills every field and
 * calls every method. Prints one JSON line `{services, ok, failures, structs}`.
 * Run: `python3 client.py WORK_DIR ADDRESS v1|v1alpha` with REFLECTION_PROTO
 * written to WORK_DIR/reflection.proto.
 */

/** The environment of the Python processes (no user site, no bytecode files). */
export const pyEnv = (dir: string): Record<string, string> => ({ PATH: '/usr/bin:/bin', HOME: dir, PYTHONDONTWRITEBYTECODE: '1' });

/** grpc.reflection.v1's messages (identical on the wire for v1alpha). */
export const REFLECTION_PROTO = String.raw`
syntax = "proto3";
package grpc.reflection.v1;
service ServerReflection { rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse); }
message ServerReflectionRequest {
  string host = 1;
  oneof message_request { string file_by_filename = 3; string file_containing_symbol = 4; string all_extension_numbers_of_type = 6; string list_services = 7; }
}
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response { FileDescriptorResponse file_descriptor_response = 4; ListServiceResponse list_services_response = 6; ErrorResponse error_response = 7; }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;

/** The reflection-only client: prints one JSON line {services, ok, failures, structs}. */
export const CLIENT = String.raw`
import json, os, sys
from grpc_tools import protoc
work, address, version = sys.argv[1], sys.argv[2], sys.argv[3]
if protoc.main(['protoc', '-I' + work, '--python_out=' + work, 'reflection.proto']) != 0: sys.exit('protoc failed')
sys.path.insert(0, work)
import grpc
import reflection_pb2 as r
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, descriptor

channel = grpc.insecure_channel(address)
info = channel.stream_stream('/grpc.reflection.%s.ServerReflection/ServerReflectionInfo' % version,
    request_serializer=r.ServerReflectionRequest.SerializeToString, response_deserializer=r.ServerReflectionResponse.FromString)
def ask(**kw):
    return list(info(iter([r.ServerReflectionRequest(**kw)]), timeout=60))[0]
services = [s.name for s in ask(list_services='').list_services_response.service if not s.name.startswith('grpc.')]
pool = descriptor_pool.DescriptorPool()
protos = {}
for name in services:
    for b in ask(file_containing_symbol=name).file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto(); fd.ParseFromString(b); protos[fd.name] = fd
added = set()
def add(name):
    if name in added: return
    for dep in protos[name].dependency: add(dep)
    pool.Add(protos[name]); added.add(name)
for name in protos: add(name)
factory = message_factory.MessageFactory(pool)
F = descriptor.FieldDescriptor
structs = 0
def scalar(f):
    if f.type == F.TYPE_STRING: return 'x'
    if f.type == F.TYPE_BYTES: return b'x'
    if f.type == F.TYPE_BOOL: return True
    if f.type == F.TYPE_ENUM: return f.enum_type.values[-1].number
    if f.type in (F.TYPE_FLOAT, F.TYPE_DOUBLE): return 1.5
    return 7
def fill_struct(s):
    s.fields['s'].string_value = 'struct-string'
    s.fields['n'].number_value = 2.5
    s.fields['b'].bool_value = True
    s.fields['z'].null_value = 0
    s.fields['l'].list_value.values.add().string_value = 'item'
    s.fields['nested'].struct_value.fields['k'].string_value = 'v'
def fill(m, depth=0):
    global structs
    d = m.DESCRIPTOR
    if d.full_name == 'google.protobuf.Struct':
        structs += 1; fill_struct(m); return
    if d.full_name == 'google.protobuf.Value':
        structs += 1; fill_struct(m.struct_value); return
    if d.full_name == 'google.protobuf.ListValue':
        structs += 1; m.values.add().string_value = 'listed'; return
    if d.full_name == 'google.protobuf.Any':
        m.type_url = 'type.googleapis.com/google.protobuf.Empty'; m.value = b''; return
    if depth > 5: return
    oneofs = set()
    for f in d.fields:
        if f.containing_oneof is not None:
            if f.containing_oneof.name in oneofs: continue
            oneofs.add(f.containing_oneof.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key, val = f.message_type.fields_by_name['key'], f.message_type.fields_by_name['value']
            target = getattr(m, f.name)
            if val.message_type is not None: fill(target[scalar(key)], depth + 1)
            else: target[scalar(key)] = scalar(val)
        elif f.label == F.LABEL_REPEATED:
            if f.message_type is not None: fill(getattr(m, f.name).add(), depth + 1)
            else: getattr(m, f.name).append(scalar(f))
        elif f.message_type is not None:
            getattr(m, f.name).SetInParent(); fill(getattr(m, f.name), depth + 1)
        else:
            setattr(m, f.name, scalar(f))
ok, failures = 0, []
for name in services:
    sd = pool.FindServiceByName(name)
    for method in sd.methods:
        try:
            cls = factory.GetPrototype(method.input_type)
            msg = cls(); fill(msg)
            call = channel.unary_unary('/%s/%s' % (name, method.name), request_serializer=lambda x: x.SerializeToString(), response_deserializer=lambda b: b)
            call(msg, timeout=30); ok += 1
        except Exception as e:
            failures.append('%s/%s: %s' % (name, method.name, str(e)[:300]))
print(json.dumps({'services': len(services), 'ok': ok, 'failures': failures[:20], 'structs': structs}))
`;
