// Types of eslint/layers.js for the tests that run it (test/app/layers.test.ts).
import type { ESLint } from 'eslint';

/** The layers of src, lowest first: each entry lists the folders (or root files) of one layer. */
export declare const LAYERS: string[][];
declare const plugin: ESLint.Plugin;
export default plugin;
