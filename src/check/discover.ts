import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** One input text and the name it is reported under. */
export interface ManifestSource {
  /** Path relative to the working directory with `/` separators, or STDIN_NAME. */
  name: string;
  text: string;
}

export const STDIN_NAME = '<stdin>';

/** Files picked up when a directory is given; files named explicitly are read whatever their name. */
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface DiscoveryIo {
  cwd: string;
  readStdin: () => Promise<string>;
}

export interface Discovery {
  sources: ManifestSource[];
  /** One line per path that could not be read; any error makes the whole run a usage error. */
  errors: string[];
}

/**
 * Expand the PATH arguments: `-` is stdin, a directory is walked recursively (sorted, so output
 * order is stable; hidden directories like .git skipped; symlink loops cut), a file is read as is.
 * A file reached twice is read once.
 */
export async function discoverSources(paths: readonly string[], io: DiscoveryIo): Promise<Discovery> {
  const sources: ManifestSource[] = [];
  const errors: string[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();
  let stdinRead = false;

  const addFile = async (absolute: string): Promise<void> => {
    const name = displayName(io.cwd, absolute);
    try {
      const real = await realpath(absolute);
      if (seenFiles.has(real)) return;
      seenFiles.add(real);
      sources.push({ name, text: stripBom(await readFile(absolute, 'utf8')) });
    } catch (err) {
      errors.push(`${name}: ${describeError(err)}`);
    }
  };

  const walk = async (dir: string): Promise<void> => {
    let entries: string[];
    try {
      const real = await realpath(dir);
      if (seenDirs.has(real)) return;
      seenDirs.add(real);
      entries = (await readdir(dir)).sort();
    } catch (err) {
      errors.push(`${displayName(io.cwd, dir)}: ${describeError(err)}`);
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry);
      const info = await stat(full).catch(() => undefined); // dangling symlink: nothing to read
      if (!info) continue;
      if (info.isDirectory()) {
        if (!entry.startsWith('.')) await walk(full);
      } else if (info.isFile() && MANIFEST_FILE.test(entry)) {
        await addFile(full);
      }
    }
  };

  for (const given of paths) {
    if (given === '-') {
      if (stdinRead) {
        errors.push('-: stdin can be read only once');
        continue;
      }
      stdinRead = true;
      try {
        sources.push({ name: STDIN_NAME, text: stripBom(await io.readStdin()) });
      } catch (err) {
        errors.push(`-: cannot read stdin: ${describeError(err)}`);
      }
      continue;
    }
    const absolute = path.resolve(io.cwd, given);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(absolute)).isDirectory();
    } catch (err) {
      errors.push(`${given}: ${describeError(err)}`);
      continue;
    }
    if (isDirectory) await walk(absolute);
    else await addFile(absolute);
  }
  return { sources, errors };
}

/** Relative to the working directory, `/`-separated: the form SARIF viewers resolve against the repository. */
export function displayName(cwd: string, absolute: string): string {
  const relative = path.relative(cwd, absolute);
  return (relative === '' ? path.basename(absolute) : relative).split(path.sep).join('/');
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case undefined:
      return err instanceof Error ? err.message : String(err);
    default:
      return `cannot read (${code})`;
  }
}
