import { readFileSync } from 'node:fs';

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  /** Upper-case keyword: `RUN`, `COPY`, … */
  keyword: string;
  /** `--from=build` → `{ from: 'build' }`; leading flags only, as Docker reads them. */
  flags: Record<string, string>;
  /** The rest of the line after the flags. */
  args: string;
  /** The exec form (`["node", "x"]`) parsed, when the arguments are one. */
  exec?: string[];
  /** 1-based line of the instruction's start. */
  line: number;
}

export interface Stage {
  /** `AS <name>`, if any. */
  name?: string;
  /** The base image, as written. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** `ARG`s before the first `FROM`, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Parses a Dockerfile into stages. Throws on an instruction before `FROM` other than `ARG`. */
export function parseDockerfile(file: string, text = readFileSync(file, 'utf8')): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i += 1;
      const next = lines[i]!;
      // Comment lines inside a continued instruction are dropped, as Docker does.
      if (/^\s*#/.test(next)) continue;
      line = line.replace(/\\\s*$/, ' ') + next.trim();
    }
    const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${file}:${start}: cannot read "${line}"`);
    const keyword = match[1]!.toUpperCase();
    let rest = match[2]!.trim();
    const flags: Record<string, string> = {};
    for (
      let flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
      flag;
      flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)
    ) {
      flags[flag[1]!] = flag[2] ?? 'true';
      rest = rest.slice(flag[0].length);
    }
    const instruction: Instruction = { keyword, flags, args: rest, line: start };
    const execText = keyword === 'HEALTHCHECK' ? rest.replace(/^CMD\s+/, '') : rest;
    if (execText.startsWith('[')) instruction.exec = JSON.parse(execText) as string[];
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`${file}:${start}: cannot read FROM ${rest}`);
      stages.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`${file}:${start}: ${keyword} before FROM`);
      const [name, value = ''] = rest.split('=', 2);
      globalArgs[name!] = value;
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The last stage: what `docker build` without `--target` produces. */
export function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return stage;
}

/** The instructions of one keyword in a stage. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}
