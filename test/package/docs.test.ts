// Every public symbol is documented: each export of the package entry point, each export of the `hub` and
// `train` namespaces, and each public member of the exported classes and interfaces has a doc comment (what
// editors show on hover and what the README's API tables point to). `@internal` symbols are exempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..', '..');

/** A module's own doc: the JSDoc block that opens its file. */
function moduleDoc(decl: ts.Declaration): string {
  const file = decl.getSourceFile();
  const ranges = ts.getLeadingCommentRanges(file.text, 0) ?? [];
  return ranges.map((r) => file.text.slice(r.pos, r.end)).find((c) => c.startsWith('/**')) ?? '';
}

function undocumentedSymbols(entry: string): string[] {
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  const seen = new Set<ts.Symbol>();
  const visit = (symbol: ts.Symbol, qualified: string, depth: number): void => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (seen.has(target) || depth > 3) return;
    seen.add(target);
    const decl = target.declarations?.[0];
    if (!decl || decl.getSourceFile().fileName.includes('node_modules')) return;
    if (target.getJsDocTags(checker).some((t) => t.name === 'internal')) return;
    const isModule = ts.isSourceFile(decl);
    const commentOf = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker));
    const doc = isModule ? moduleDoc(decl) : commentOf(target) || commentOf(symbol);
    if (!doc.trim()) missing.push(`${qualified} (${path.relative(root, decl.getSourceFile().fileName)})`);
    if (isModule) {
      for (const e of checker.getExportsOfModule(target)) visit(e, `${qualified}.${e.getName()}`, depth + 1);
    }
    if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
      for (const member of target.members?.values() ?? []) {
        const name = member.getName();
        if (name === '__constructor' || name.startsWith('#') || member.flags & ts.SymbolFlags.TypeParameter) continue;
        const md = member.declarations?.[0];
        if (md && ts.getCombinedModifierFlags(md) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        visit(member, `${qualified}.${name}`, depth + 1);
      }
    }
  };
  const entryFile = program.getSourceFile(entry);
  assert.ok(entryFile, `${entry} is part of the program`);
  const moduleSymbol = checker.getSymbolAtLocation(entryFile);
  assert.ok(moduleSymbol, 'the entry point is a module');
  for (const e of checker.getExportsOfModule(moduleSymbol)) visit(e, e.getName(), 0);
  return missing;
}

test('every public symbol has a doc comment', () => {
  const missing = undocumentedSymbols(path.join(root, 'src', 'index.ts'));
  assert.deepEqual(missing, [], `undocumented public symbols:\n  ${missing.join('\n  ')}`);
});
