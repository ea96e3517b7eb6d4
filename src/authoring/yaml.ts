/**
 * `yaml` (documents with positions, for rule-test and history files), loaded on first use: `explain` without
 * `--history` reads no YAML of its own, and the package's 73 modules cost about 0.06 CPU s of a command's start.
 * The same CommonJS module `import ... from 'yaml'` would load (its `node` export), as in src/rules/source.ts.
 */
import { createRequire } from 'node:module';
import type * as YamlApi from 'yaml';

let yamlModule: typeof YamlApi | undefined;

/** The `yaml` package, required on the first call. */
export function yaml(): typeof YamlApi {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YamlApi;
  return yamlModule;
}
