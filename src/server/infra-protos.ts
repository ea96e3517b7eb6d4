/**
 * The infrastructure services the host serves beside the events: server
 * reflection (v1 and v1alpha, the same messages in two packages) and health.
 * Kept here as `.proto` text (copied from grpc/grpc-proto, Apache-2.0) so
 * reflection can describe them and the host can encode their messages without
 * depending on where packages keep their proto files.
 */
import protobuf from 'protobufjs';
import type { Namespace, ReflectionObject, Root } from 'protobufjs';

export const REFLECTION_V1 = 'grpc.reflection.v1.ServerReflection';
export const REFLECTION_V1ALPHA = 'grpc.reflection.v1alpha.ServerReflection';
export const HEALTH = 'grpc.health.v1.Health';

function reflectionProto(pkg: string): string {
  return `syntax = "proto3";
package ${pkg};
service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}
message ExtensionRequest {
  string containing_type = 1;
  int32 extension_number = 2;
}
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse {
  repeated bytes file_descriptor_proto = 1;
}
message ExtensionNumberResponse {
  string base_type_name = 1;
  repeated int32 extension_number = 2;
}
message ListServiceResponse {
  repeated ServiceResponse service = 1;
}
message ServiceResponse {
  string name = 1;
}
message ErrorResponse {
  int32 error_code = 1;
  string error_message = 2;
}
`;
}

const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthListRequest {}
message HealthListResponse {
  map<string, HealthCheckResponse> statuses = 1;
}
message HealthCheckRequest {
  string service = 1;
}
message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
  rpc List(HealthListRequest) returns (HealthListResponse);
}
`;

const FILES: ReadonlyArray<readonly [string, string]> = [
  ['grpc/reflection/v1/reflection.proto', reflectionProto('grpc.reflection.v1')],
  ['grpc/reflection/v1alpha/reflection.proto', reflectionProto('grpc.reflection.v1alpha')],
  ['grpc/health/v1/health.proto', HEALTH_PROTO],
];

/** A fresh root holding the reflection and health protos, each object tagged with its file name. */
export function loadInfraRoot(): Root {
  const root = new protobuf.Root();
  for (const [file, source] of FILES) {
    const before = new Set<ReflectionObject>();
    collect(root, before);
    protobuf.parse(source, root, { keepCase: true });
    const after = new Set<ReflectionObject>();
    collect(root, after);
    for (const o of after) if (!before.has(o)) o.filename = file;
  }
  root.resolveAll();
  return root;
}

function collect(ns: Namespace, into: Set<ReflectionObject>): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum || nested instanceof protobuf.Service) {
      into.add(nested);
    } else if (nested instanceof protobuf.Namespace) {
      collect(nested, into);
    }
  }
}
