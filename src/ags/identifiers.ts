/**
 * The identifiers AGS puts in its paths, checked before a request is sent:
 * a value AGS would refuse is refused here, permanently, with the reason,
 * instead of being percent-encoded and sent (a user id with CR/LF or ANSI
 * escapes from an event would otherwise reach AGS, its logs and ours).
 *
 * - user ids: 32 lowercase hexadecimal characters (AGS IAM user ids, as
 *   `../shared/docs/ags-rest.md` says; the specs give the path parameter no
 *   pattern);
 * - namespaces: letters and digits, single hyphens between them, at most 64
 *   characters (basic.json, `NamespaceCreate.namespace`: "only accept alphabet
 *   and numeric"; multi-tenant game namespaces are `<studio>-<game>`).
 *
 * Every AGS admin path names them the same way: the segment after
 * `/namespaces/` is a namespace, the one after `/users/` a user id (except
 * the fixed segment of the operations that name many users, {@link USERS_COLLECTION_SEGMENT});
 * a `userId` query parameter (the fulfillment history) is a user id.
 */
import { AgsError, shownValue } from './errors.js';

export { shownValue } from './errors.js';

export const AGS_USER_ID = /^[0-9a-f]{32}$/;
export const AGS_NAMESPACE = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
export const AGS_NAMESPACE_MAX_LENGTH = 64;
/**
 * The fixed segment that follows `/users/` in place of a user id, by operation, for the operations
 * this app calls on many users at once: `bulkGetAdminPlayerRecordByUserIdsV1`,
 * `/cloudsave/v1/admin/namespaces/{namespace}/users/adminrecords/{key}/bulk` (cloudsave.json; the
 * user ids are in its body). Any other operation's segment after `/users/` is a user id.
 */
const USERS_COLLECTION_SEGMENT: Readonly<Record<string, string>> = { bulkGetAdminPlayerRecordByUserIdsV1: 'adminrecords' };

/** Why `value` is not an AGS user id, or undefined when it is one. */
export function userIdProblem(value: string): string | undefined {
  return AGS_USER_ID.test(value) ? undefined : `${shownValue(value)} is not an AGS user id (32 lowercase hexadecimal characters)`;
}

/** Why `value` is not an AGS namespace, or undefined when it is one. */
export function namespaceProblem(value: string): string | undefined {
  return AGS_NAMESPACE.test(value) && value.length <= AGS_NAMESPACE_MAX_LENGTH
    ? undefined
    : `${shownValue(value)} is not an AGS namespace (letters and digits, single hyphens between them, at most ${AGS_NAMESPACE_MAX_LENGTH} characters)`;
}

/** Is `path[start, end)` the segment `word`? */
function isSegment(path: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && path.startsWith(word, start);
}

/**
 * The request's identifiers checked (see the module): undefined when AGS would take them, else a
 * permanent {@link AgsError} (`kind: 'invalid'`, nothing sent) naming the value and the format.
 */
export function identifierError(operation: string, path: string, query: Readonly<Record<string, string>> | undefined): AgsError | undefined {
  let problems: string[] | undefined; // allocated at the first problem (the usual none: nothing)
  // the segments of `path` as `path.split('/')` gives them, read in place (no array of them per request)
  let name: 'namespaces' | 'users' | undefined; // the previous segment, when it names an identifier
  for (let start = 0; ; ) {
    const slash = path.indexOf('/', start);
    const end = slash < 0 ? path.length : slash;
    if (name !== undefined) {
      let value = path.slice(start, end);
      const collection = name === 'users' && slash >= 0 && USERS_COLLECTION_SEGMENT[operation] === value;
      if (!collection) {
        if (value.includes('%')) {
          try {
            value = decodeURIComponent(value);
          } catch {
            // not percent-encoding: checked as written
          }
        }
        const problem = name === 'users' ? userIdProblem(value) : namespaceProblem(value);
        if (problem !== undefined) (problems ??= []).push(`${name === 'users' ? 'userId' : 'namespace'} ${problem}`);
      }
    }
    name = isSegment(path, start, end, 'namespaces') ? 'namespaces' : isSegment(path, start, end, 'users') ? 'users' : undefined;
    if (slash < 0) break;
    start = slash + 1;
  }
  const queried = query?.userId;
  if (queried !== undefined) {
    const problem = userIdProblem(queried);
    if (problem !== undefined) (problems ??= []).push(`userId ${problem}`);
  }
  if (problems === undefined) return undefined;
  return new AgsError({ operation, retriable: false, attempts: 0, kind: 'invalid', code: 'ERR_AGS_IDENTIFIER', errorMessage: `refused before sending: ${problems.join('; ')}` });
}
