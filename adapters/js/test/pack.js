// The package as a user gets it: packed by `npm pack` and installed from the
// tarball into a new project, offline. Shared by the packed-install and the
// bundler tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packs the package and installs the tarball into a new project.
 * @returns {Promise<{ project: string, files: string[], cleanup: () => Promise<void> }>}
 */
export async function packAndInstall() {
  const scratch = await mkdtemp(join(tmpdir(), 'pycomponent-packed-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
      cwd: packageDir,
      maxBuffer: 64 << 20,
    });
    const [packed] = JSON.parse(stdout);
    const project = join(scratch, 'app');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(scratch, packed.filename)], {
      cwd: project,
    });
    const installed = JSON.parse(await readFile(join(project, 'node_modules/pycomponent/package.json'), 'utf8'));
    assert.equal(installed.version, packed.version);
    return { project, files: packed.files.map((file) => file.path), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
