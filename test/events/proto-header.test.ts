import { describe, expect, it } from 'vitest';
import { parseProtoHeader } from '../../src/events/proto-header.js';

describe('parseProtoHeader', () => {
  it('reads top-level imports in order (public, weak) and file options, skipping comments, strings and nested blocks', () => {
    const header = parseProtoHeader(String.raw`
// import "commented/out.proto";
syntax = "proto3";
/* option java_package = "no"; */
package a.b;
import "google/protobuf/empty.proto";
import public "x/pub.proto";
import weak 'y/weak.proto';
option java_package = "net.a" ".b";   // adjacent strings concatenate
option java_multiple_files = true;
option optimize_for = SPEED;
option cc_enable_arenas = false;
option (custom.ext) = "ignored";
option objc_class_prefix = "G\"P\x42";
message M {
  option deprecated = true;
  string s = 1 [json_name = "import \"no.proto\";"];
}
service S {
  rpc WithBody(M) returns (M) {}
  rpc Bare(M) returns (M);
}
service T { rpc WithBody(M) returns (M) { option deprecated = true; } }
`);
    expect(header.imports).toEqual([
      { path: 'google/protobuf/empty.proto', kind: 'plain' },
      { path: 'x/pub.proto', kind: 'public' },
      { path: 'y/weak.proto', kind: 'weak' },
    ]);
    expect(header.options).toEqual([
      { name: 'java_package', value: 'net.a.b' },
      { name: 'java_multiple_files', value: true },
      { name: 'optimize_for', value: { identifier: 'SPEED' } },
      { name: 'cc_enable_arenas', value: false },
      { name: 'objc_class_prefix', value: 'G"PB' },
    ]);
    expect([...header.methodsWithBody].sort()).toEqual(['S.WithBody', 'T.WithBody']);
  });

  it('never throws on broken text', () => {
    expect(parseProtoHeader('import "unterminated').imports).toEqual([]);
    expect(parseProtoHeader('}}} option = ;').options).toEqual([]);
  });
});
