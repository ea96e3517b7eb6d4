/**
 * The fast path of reading a rules file: js-yaml, with the YAML 1.2 core
 * schema (the same reading as `yaml`'s, about 10x faster on large files),
 * and where each item of the top-level `rules` list starts, taken from
 * js-yaml's event stream so rule lines need no second parse.
 *
 * Whatever js-yaml refuses throws {@link FastYamlUnsupported}: invalid text,
 * aliases (refused here, so `yaml`'s alias-expansion limit always applies),
 * duplicate keys, several documents, an empty file, nesting over
 * {@link FAST_MAX_DEPTH}. The caller then parses with `yaml`, which reports
 * problems with their positions.
 */
import { EVENT_ID, constructFromEvents, getScalarValue, parseEvents } from 'js-yaml';
import type { Event } from 'js-yaml';

/** Deeper files go to `yaml` (and the loader's own depth limit). */
export const FAST_MAX_DEPTH = 64;

/** js-yaml did not read the text: parse it with `yaml`. */
export class FastYamlUnsupported extends Error {
  override readonly name = 'FastYamlUnsupported';
  constructor(readonly reason: string) {
    super(`not read on the fast path: ${reason}`);
  }
}

/** The parsed data, and where each item of the top-level `rules` list starts. */
export interface FastYamlResult {
  readonly data: unknown;
  /** Offset of each item of the top-level `rules` sequence (its first character), when `rules` is one. */
  readonly rulesItemOffsets: readonly number[] | undefined;
}

export function parseFastYaml(text: string): FastYamlResult {
  let events: Event[];
  let documents: unknown[];
  try {
    events = parseEvents(text, { maxDepth: FAST_MAX_DEPTH });
    documents = constructFromEvents(events, { source: text, maxAliases: 0 });
  } catch (err) {
    throw new FastYamlUnsupported(err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err));
  }
  if (documents.length !== 1) throw new FastYamlUnsupported(`${documents.length} documents`);
  return { data: documents[0], rulesItemOffsets: rulesItemOffsets(text, events) };
}

/** Walks the events: the root mapping's `rules` value, when a sequence, and the start of each of its items. */
function rulesItemOffsets(text: string, events: readonly Event[]): number[] | undefined {
  let depth = 0; // open document and collections
  let rootChildren = 0; // nodes met directly under the root mapping: keys (even) and values (odd)
  let key: string | undefined;
  let inRules = false;
  let offsets: number[] | undefined;
  for (const e of events) {
    if (e.type === EVENT_ID.POP) {
      depth--;
      continue;
    }
    if (e.type === EVENT_ID.DOCUMENT) {
      depth++;
      continue;
    }
    const level = depth; // 1: the root node, 2: a key or value of the root, 3: inside one of those
    if (level === 1 && e.type !== EVENT_ID.MAPPING) return undefined;
    if (level === 2) {
      if (rootChildren++ % 2 === 0) {
        key = e.type === EVENT_ID.SCALAR ? getScalarValue(text, e) : undefined;
        inRules = false;
      } else {
        inRules = key === 'rules' && e.type === EVENT_ID.SEQUENCE;
        if (inRules) offsets = [];
      }
    } else if (level === 3 && inRules) {
      offsets!.push(e.type === EVENT_ID.SCALAR ? e.valueStart : e.type === EVENT_ID.ALIAS ? e.anchorStart : e.start);
    }
    if (e.type === EVENT_ID.MAPPING || e.type === EVENT_ID.SEQUENCE) depth++;
  }
  return offsets;
}
