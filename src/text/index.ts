/** Text helpers shared by every diagnostic: "did you mean" by edit distance, hostile text made printable. A leaf layer: imports nothing from src. */
export { closest, didYouMean, editDistance } from './suggest.js';
export { printable } from './printable.js';
