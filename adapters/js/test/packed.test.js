// The package as a user gets it: `npm pack`, installed from the tarball
// into a new project, imported by name in Node and type-checked in a
// TypeScript project, with nothing else set up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { packAndInstall, packageDir, run } from './pack.js';

const tsc = join(packageDir, 'node_modules/.bin/tsc');

test('npm pack gives a tarball that a new project installs, imports and type-checks', async () => {
  const { project, files, cleanup } = await packAndInstall();
  try {
    for (const needed of ['src/index.js', 'src/index.d.ts', 'dist/pycomponent.js', 'dist/pycomponent.core.wasm']) {
      assert.ok(files.includes(needed), `${needed} is in the tarball: ${files.join(', ')}`);
    }
    assert.ok(!files.some((file) => file.startsWith('test/') || file.startsWith('node_modules/')), 'no tests or dependencies');

    // Node: imported by its name, the first interpreter answers.
    await writeFile(
      join(project, 'main.js'),
      "import { loadPython } from 'pycomponent';\n" +
        'const py = await loadPython();\n' +
        "console.log(JSON.stringify(py.runPython('import sys; [sum(range(10)), sys.version_info[:2]]')));\n",
    );
    const { stdout: printed } = await run(process.execPath, ['main.js'], { cwd: project });
    assert.deepEqual(JSON.parse(printed.trim()), [45, [3, 11]]);

    // TypeScript: the public types resolve from the installed package.
    await copyFile(join(packageDir, 'test/types-usage.ts'), join(project, 'usage.ts'));
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [] },
        files: ['usage.ts'],
      }),
    );
    await run(tsc, ['-p', 'tsconfig.json'], { cwd: project });
    // A use of the API that the types forbid is refused: the check is real.
    await writeFile(join(project, 'usage.ts'), "import { loadPython } from 'pycomponent';\nconst n: number = await loadPython();\n");
    await assert.rejects(run(tsc, ['-p', 'tsconfig.json'], { cwd: project }), (error) => /TS2322/.test(error.stdout));
  } finally {
    await cleanup();
  }
});
