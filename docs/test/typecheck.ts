import ts from 'typescript';
import { join } from 'node:path';
import { root, type DocBlock } from './extract.ts';

/**
 * The compiler options a strict user project would have: the repository's own (strict,
 * NodeNext, verbatimModuleSyntax) plus `exactOptionalPropertyTypes`. `@converge/*` imports
 * resolve through the workspace to each package's built `dist/` types, as in a user's project.
 */
export const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  allowImportingTsExtensions: true,
  skipLibCheck: true,
  noEmit: true,
};

/** One compiler error, placed in the Markdown file. */
export interface DocDiagnostic {
  /** `docs/core.md:140`. */
  where: string;
  message: string;
}

/** Type-checks all blocks in one program; returns the errors of each block by label. */
export function typecheckBlocks(blocks: readonly DocBlock[]): Map<string, DocDiagnostic[]> {
  const byFile = new Map(blocks.map((b) => [b.file, b]));
  const host = ts.createCompilerHost(compilerOptions, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
    const block = byFile.get(name);
    if (block) return ts.createSourceFile(name, block.code, languageVersion, true, ts.ScriptKind.TS);
    return getSourceFile(name, languageVersion, onError, shouldCreate);
  };
  host.fileExists = (name) => byFile.has(name) || fileExists(name);
  host.readFile = (name) => byFile.get(name)?.code ?? readFile(name);
  host.getCurrentDirectory = () => root;

  const program = ts.createProgram({ rootNames: [...byFile.keys()], options: compilerOptions, host });
  const result = new Map<string, DocDiagnostic[]>(blocks.map((b) => [b.label, []]));
  const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const d of diagnostics) {
    throw new Error(`docs type-check setup: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }
  for (const block of blocks) {
    const sf = program.getSourceFile(block.file);
    if (!sf) throw new Error(`${block.label}: not in the program`);
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
      const col = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).character;
      const docLine = block.lines[line] ?? block.line;
      result.get(block.label)?.push({
        where: `${block.doc}:${docLine}:${col + 1}`,
        message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      });
    }
  }
  return result;
}
