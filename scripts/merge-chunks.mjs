// Merges groups of the CLI bundle's chunks into one file each (issue 18, start-up). esbuild splits
// code by which entry points (the dynamic imports that keep commands lazy) reach it, so the code
// every command runs arrives in dozens of small chunks, and Node 20's ES module loader pays for
// each module it resolves, links and evaluates: 37 for one `get`. esbuild cannot group chunks
// itself, so this pass does, after it:
//   - the chunks the entry imports statically (what `--help` loads) become one file;
//   - the chunks the command context imports statically, and no more (what every command that
//     runs loads after that), become another.
// Each merged file is an esbuild bundle of its group (scope-hoisted, names kept apart, in import
// order) exporting every name its members exported; every other file's imports of a member, static
// or dynamic, are pointed at it, and the members are removed. Nothing is loaded twice: a module is
// in one file only. A name exported by two members of one group would make the merged exports
// ambiguous, so the build stops instead.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)"\.\/([^"]+\.js)"/g;
const EXPORTS = /export\s*\{([^}]*)\}/g;

/** Every file's relative imports: static (import … from / bare import) and dynamic (import()). */
function importGraph(dir) {
  const graph = new Map();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.js'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const staticImports = [];
    const dynamicImports = [];
    for (const match of text.matchAll(SPECIFIER)) (match[1].includes('(') ? dynamicImports : staticImports).push(match[2]);
    graph.set(file, { staticImports, dynamicImports });
  }
  return graph;
}

function staticClosure(graph, roots) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const file = stack.pop();
    if (seen.has(file) || !graph.has(file)) continue;
    seen.add(file);
    stack.push(...graph.get(file).staticImports);
  }
  return seen;
}

/** A chunk's exports as exported name → local name, and its imports as local name → [file, imported name]. */
function bindings(text) {
  const exports = new Map();
  for (const match of text.matchAll(/export\s*\{([^}]*)\}(?!\s*from)/g)) {
    for (const item of match[1].split(',').map((part) => part.trim()).filter(Boolean)) {
      const [local, exported = local] = item.split(/\s+as\s+/);
      exports.set(exported, local);
    }
  }
  const imports = new Map();
  for (const match of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\/([^"]+\.js)"/g)) {
    for (const item of match[1].split(',').map((part) => part.trim()).filter(Boolean)) {
      const [imported, local = imported] = item.split(/\s+as\s+/);
      imports.set(local, [match[2], imported]);
    }
  }
  return { exports, imports };
}

/**
 * Fails when two members of a group export one name for two different bindings: the merged file's
 * `export *` would make that name ambiguous. A member passing on a binding it imported from
 * another member (a door re-exporting) exports the same binding, which is fine.
 */
function checkExports(dir, group) {
  const texts = new Map(group.members.map((member) => [member, readFileSync(join(dir, member), 'utf8')]));
  // `export *` passes on neither a default export nor what a member itself passes on by `export … from`;
  // esbuild writes neither into a chunk today, and a member that did would lose exports silently.
  for (const [member, text] of texts) {
    if (/\bexport\s*(default\b|\*|\{[^}]*\}\s*from\b)/.test(text)) throw new Error(`merge-chunks: ${member} exports in a form the merge does not pass on (default, * or from)`);
  }
  const parsed = new Map([...texts].map(([member, text]) => [member, bindings(text)]));
  const origin = (file, name, depth = 0) => {
    const local = parsed.get(file)?.exports.get(name);
    const imported = local === undefined ? undefined : parsed.get(file).imports.get(local);
    return imported && parsed.has(imported[0]) && depth < 50 ? origin(imported[0], imported[1], depth + 1) : `${file}#${local ?? name}`;
  };
  const seen = new Map();
  for (const [member, { exports }] of parsed) {
    for (const name of exports.keys()) {
      const from = origin(member, name);
      if (seen.has(name) && seen.get(name) !== from) throw new Error(`merge-chunks: ${name} is exported for two bindings (${seen.get(name)}, ${from}); ${group.name} cannot hold both`);
      seen.set(name, from);
    }
  }
}

/**
 * Merges the CLI's chunks in `dir` (esbuild's output for `entry`, with `contextPrefix` naming the
 * command context's dynamic entry). `esbuild` is the loaded module. Each member keeps the
 * `require` its banner made (module-scoped, renamed apart by the merge).
 */
export async function mergeChunks({ esbuild, dir, entry, contextPrefix }) {
  const graph = importGraph(dir);
  // esbuild's name for the context's chunk: the prefix and an 8-character hash (tsc's own output lies beside it).
  const chunkName = new RegExp(`^${contextPrefix}[A-Z0-9]{8}\\.js$`);
  const contexts = [...graph.keys()].filter((file) => chunkName.test(file));
  if (contexts.length !== 1) throw new Error(`merge-chunks: expected one ${contextPrefix}<hash>.js in ${dir}, found ${contexts.join(', ') || 'none'}`);
  const context = contexts[0];
  const startUp = staticClosure(graph, [entry]);
  const groups = [
    { name: 'start-up.js', members: [...startUp].filter((file) => file !== entry) },
    { name: 'command.js', members: [...staticClosure(graph, [context])].filter((file) => !startUp.has(file)) },
  ].filter((group) => group.members.length > 1);

  const renamed = new Map();
  for (const group of groups) {
    checkExports(dir, group);
    const members = new Set(group.members);
    await esbuild.build({
      stdin: { contents: group.members.map((member) => `export * from './${member}';`).join('\n'), resolveDir: dir, loader: 'js', sourcefile: group.name },
      outfile: join(dir, `${group.name}.next`),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
      minifyWhitespace: true,
      minifySyntax: true,
      plugins: [{
        name: 'authsome-merge-group',
        setup(build) {
          // Members are bundled; every other file of the CLI stays where it is (as this group's file
          // will be, beside it), and so do packages and Node's modules.
          build.onResolve({ filter: /^\.\/[^/]+\.js$/ }, (args) => {
            const file = args.path.slice(2);
            if (members.has(file)) return undefined;
            return { path: `./${renamed.get(file) ?? file}`, external: true };
          });
          build.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
        },
      }],
    });
    for (const member of group.members) renamed.set(member, group.name);
  }

  if (renamed.size === 0) return { groups: [] };
  // Point every remaining file (and the merged files' own references to a later group) at the merged files.
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.js') || name.endsWith('.js.next'))) {
    if (renamed.has(file)) continue;
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const next = text.replace(SPECIFIER, (whole, lead, target) => (renamed.has(target) ? `${lead}"./${renamed.get(target)}"` : whole));
    if (next !== text) writeFileSync(path, next);
  }
  for (const member of renamed.keys()) rmSync(join(dir, member));
  // A reference in a form the rewrite does not know (a worker's URL, a path built at run time)
  // would now point at nothing: every name of a removed file must be gone from what is left.
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.js') || name.endsWith('.js.next'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const member of renamed.keys()) {
      if (text.includes(member)) throw new Error(`merge-chunks: ${file} still names ${member}, merged into ${renamed.get(member)}`);
    }
  }
  for (const group of groups) {
    const path = join(dir, group.name);
    writeFileSync(path, readFileSync(`${path}.next`));
    rmSync(`${path}.next`);
  }
  return { groups: groups.map((group) => ({ name: group.name, members: group.members.length })) };
}
