/**
 * Own lines of every hand-written function of src/ (the developers' guide's bound: 80): a
 * function's lines, without blank and comment-only lines and without the lines of the functions
 * nested in it (their first and last lines, `x = () => {` and `}`, stay with the outer one).
 * Generated code (`generated/` folders) is left out. Read with the TypeScript compiler API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface FunctionLength {
  /** `path:line name`, path relative to the root given. */
  readonly where: string;
  readonly file: string;
  readonly name: string;
  readonly ownLines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node);
}

function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) return parent.name.getText(sf);
  return '(anonymous)';
}

/** Every function of every .ts file under `dir`, longest first. */
export function functionLengths(dir: string, root = dir): FunctionLength[] {
  const out: FunctionLength[] = [];
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const lines = text.split('\n');
    const countable = lines.map((l) => {
      const t = l.trim();
      return t !== '' && !t.startsWith('//') && !t.startsWith('/*') && !t.startsWith('*');
    });
    const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
    const measure = (fn: ts.FunctionLikeDeclaration) => {
      const own = new Set<number>();
      for (let l = lineOf(fn.getStart(sf)); l <= lineOf(fn.getEnd()); l++) if (countable[l]) own.add(l);
      const dropNested = (node: ts.Node) => {
        if (isFunction(node)) {
          for (let l = lineOf(node.getStart(sf)) + 1; l < lineOf(node.getEnd()); l++) own.delete(l);
          return;
        }
        ts.forEachChild(node, dropNested);
      };
      ts.forEachChild(fn, dropNested);
      const rel = relative(root, file);
      const name = nameOf(fn, sf);
      out.push({ where: `${rel}:${lineOf(fn.getStart(sf)) + 1} ${name}`, file: rel, name, ownLines: own.size });
    };
    const visit = (node: ts.Node) => {
      if (isFunction(node)) measure(node);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out.sort((a, b) => b.ownLines - a.ownLines);
}
