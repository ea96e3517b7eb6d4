/**
 * gRPC server reflection, v1 and v1alpha (`ServerReflectionInfo`, a bidi stream),
 * small and fast enough for the whole AGS catalog (`@grpc/reflection` needs
 * seconds to index it). Descriptors come from a {@link DescriptorPool}, built
 * lazily per file.
 *
 * Behaviour (as grpc-go):
 * - `list_services`: whatever `listServices()` returns at the time of the request
 *   (the host passes the served event services plus health and both reflection
 *   services), so a change of the served set shows at once.
 * - `file_by_filename`, `file_containing_symbol`: the file and all its transitive
 *   dependencies (file first), for any symbol of any loaded file; unknown -> error 5.
 * - `all_extension_numbers_of_type`: a known message -> an empty list (nothing
 *   here declares extensions); unknown -> error 5.
 * - `file_containing_extension`: always error 5 (no extensions are declared).
 */
import { status } from '@grpc/grpc-js';
import type { Server, ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import type { Type } from 'protobufjs';
import type { DescriptorPool } from './descriptors.js';
import { REFLECTION_V1, REFLECTION_V1ALPHA } from './infra-protos.js';
import type { Root } from 'protobufjs';
import { readerOf } from '../events/index.js';

export interface ReflectionOptions {
  /** Where descriptors come from; must include the infrastructure root (for describing health and reflection). */
  readonly pool: DescriptorPool;
  /** The root holding the `grpc.reflection.*` messages (from `loadInfraRoot()`). */
  readonly infraRoot: Root;
  /** Service full names to list, asked on every `list_services`. */
  readonly listServices: () => Iterable<string>;
}

interface ReflectionRequest {
  host?: string;
  message_request?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type?: string; extension_number?: number };
  all_extension_numbers_of_type?: string;
  list_services?: string;
}

type ReflectionResponse = Record<string, unknown>;

/** Answers one reflection request; exported for unit use, the stream handler calls it per message. */
export function answerReflection(options: Pick<ReflectionOptions, 'pool' | 'listServices'>, request: ReflectionRequest): ReflectionResponse {
  const { pool } = options;
  const response: ReflectionResponse = { valid_host: request.host ?? '', original_request: request };
  const error = (code: number, message: string): ReflectionResponse => ({
    ...response,
    error_response: { error_code: code, error_message: message },
  });
  const files = (buffers: readonly Buffer[]): ReflectionResponse => ({
    ...response,
    file_descriptor_response: { file_descriptor_proto: buffers },
  });
  switch (request.message_request) {
    case 'list_services':
      return {
        ...response,
        list_services_response: { service: [...new Set(options.listServices())].sort().map((name) => ({ name })) },
      };
    case 'file_by_filename': {
      const name = request.file_by_filename ?? '';
      const buffers = pool.fileWithDependencies(name);
      return buffers ? files(buffers) : error(status.NOT_FOUND, `file not found: ${name}`);
    }
    case 'file_containing_symbol': {
      const symbol = request.file_containing_symbol ?? '';
      const file = pool.fileContainingSymbol(symbol);
      const buffers = file === undefined ? undefined : pool.fileWithDependencies(file);
      return buffers ? files(buffers) : error(status.NOT_FOUND, `symbol not found: ${symbol}`);
    }
    case 'file_containing_extension': {
      const ext = request.file_containing_extension ?? {};
      return error(
        status.NOT_FOUND,
        `extension not found: ${ext.containing_type ?? ''} ${String(ext.extension_number ?? 0)}`,
      );
    }
    case 'all_extension_numbers_of_type': {
      const type = request.all_extension_numbers_of_type ?? '';
      return pool.isMessageType(type)
        ? { ...response, all_extension_numbers_response: { base_type_name: type, extension_number: [] } }
        : error(status.NOT_FOUND, `type not found: ${type}`);
    }
    default:
      return error(status.INVALID_ARGUMENT, 'empty or unknown reflection request');
  }
}

function definition(pkg: string, requestType: Type, responseType: Type): ServiceDefinition {
  return {
    ServerReflectionInfo: {
      path: `/${pkg}.ServerReflection/ServerReflectionInfo`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: ReflectionRequest) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer): ReflectionRequest =>
        requestType.toObject(requestType.decode(readerOf(bytes)), { oneofs: true, longs: Number }),
      responseSerialize: (value: ReflectionResponse) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => responseType.toObject(responseType.decode(readerOf(bytes)), { oneofs: true }),
      originalName: 'serverReflectionInfo',
    },
  };
}

/** Adds both reflection services to a grpc-js server. */
export function addReflection(server: Server, options: ReflectionOptions): void {
  for (const full of [REFLECTION_V1, REFLECTION_V1ALPHA]) {
    const pkg = full.slice(0, full.lastIndexOf('.'));
    const requestType = options.infraRoot.lookupType(`${pkg}.ServerReflectionRequest`);
    const responseType = options.infraRoot.lookupType(`${pkg}.ServerReflectionResponse`);
    server.addService(definition(pkg, requestType, responseType), {
      ServerReflectionInfo: (call: ServerDuplexStream<ReflectionRequest, ReflectionResponse>) => {
        call.on('data', (request: ReflectionRequest) => {
          let response: ReflectionResponse;
          try {
            response = answerReflection(options, request);
          } catch (err) {
            response = {
              valid_host: request.host ?? '',
              original_request: request,
              error_response: {
                error_code: status.INTERNAL,
                error_message: `reflection failed: ${err instanceof Error ? err.message : String(err)}`,
              },
            };
          }
          call.write(response);
        });
        call.on('end', () => call.end());
        call.on('error', () => {
          // the client went away: nothing to answer
        });
      },
    });
  }
}
