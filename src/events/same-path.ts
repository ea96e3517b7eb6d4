/**
 * Files of one relative path found under several proto directories
 * (`PROTO_DIR=proto,<specs>`): which one the catalog loads. The project ships
 * `proto/accelbyte/iam/account/v1/account.proto`, an excerpt (2 events) of
 * AGS's own file of that path (41 events): loading the first one found would
 * hide the other 39 events. So a file whose every definition is in another
 * file of the same path, identical, gives way to that fuller file; files that
 * disagree (a message defined differently, or each with definitions the
 * other lacks: an edited copy) keep the documented order: the first
 * directory wins.
 */
import protobuf from 'protobufjs';

/** Each message, enum and service of a file by full name, as JSON; undefined when the file does not parse (the load reports it). */
function definitions(text: string): Map<string, string> | undefined {
  const root = new protobuf.Root();
  try {
    protobuf.parse(text, root, { keepCase: true, alternateCommentMode: false });
  } catch {
    return undefined;
  }
  const out = new Map<string, string>();
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type || o instanceof protobuf.Service || o instanceof protobuf.Enum) out.set(o.fullName, JSON.stringify(o.toJSON()));
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type || o instanceof protobuf.Service) walk(o);
    }
  };
  walk(root);
  return out;
}

function within(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  for (const [name, json] of a) if (b.get(name) !== json) return false;
  return true;
}

/**
 * The index (in directory order) of the file to load among `texts`, the
 * contents of one relative path in each directory that has it: the first file
 * that every other one is contained in (each of their definitions identical in
 * it); else 0 (the first directory wins).
 */
export function choosePathFile(texts: readonly string[]): number {
  if (texts.length < 2) return 0;
  const defs = texts.map(definitions);
  if (defs.some((d) => d === undefined)) return 0;
  const all = defs as Map<string, string>[];
  const i = all.findIndex((candidate) => all.every((other) => other === candidate || within(other, candidate)));
  return i === -1 ? 0 : i;
}
