/**
 * Synthetic plans for benchmarks: seeds-style, with dependencies inside and across phases,
 * estimates, file references (some shared) and VERIFY blocks. Deterministic for a given seed.
 */

export function rng(seed: number): () => number {
  // mulberry32: small, fast and good enough for shaping test data.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  tasks: number;
  phaseSize?: number;
  seed?: number;
  /** Share of tasks with explicit `(depends: …)` (default 0.4). */
  depShare?: number;
  /** Share of tasks that name a file another task also names (default 0.1). */
  sharedFileShare?: number;
}

export function generatePlan(opts: GenerateOptions): string {
  const random = rng(opts.seed ?? 1);
  const phaseSize = opts.phaseSize ?? 20;
  const depShare = opts.depShare ?? 0.4;
  const sharedShare = opts.sharedFileShare ?? 0.1;
  const phases = Math.ceil(opts.tasks / phaseSize);
  const out: string[] = [
    '# Implementation Plan: Synthetic benchmark plan',
    '',
    '## Overview',
    '- **Objective:** Exercise the engine at scale',
    '- **Created:** 2026-11-22',
    '',
  ];
  let made = 0;
  const ids: string[] = [];
  for (let p = 1; p <= phases && made < opts.tasks; p++) {
    out.push(`## Phase ${p}: Work package ${p}`, '', `**Objective:** Build part ${p} of the system.`, '');
    const inPhase: string[] = [];
    for (let i = 1; i <= phaseSize && made < opts.tasks; i++, made++) {
      const id = `${p}.${i}`;
      const est = [15, 30, 45, 60, 90, 120, 180, 240][Math.floor(random() * 8)]!;
      let text = `- [ ] ${id} Implement component ${id} of the service in \`src/module${p}/part${i}.ts\``;
      if (random() < sharedShare) text += ` and update \`src/shared/registry${Math.floor(random() * 5)}.ts\``;
      const deps: string[] = [];
      if (random() < depShare) {
        const pool = inPhase.length > 0 && random() < 0.7 ? inPhase : ids;
        const n = 1 + Math.floor(random() * 2);
        for (let k = 0; k < n && pool.length > 0; k++) {
          const d = pool[Math.floor(random() * pool.length)]!;
          if (!deps.includes(d)) deps.push(d);
        }
      }
      if (deps.length) text += ` (depends: ${deps.join(', ')})`;
      text += ` (est: ${est}m)`;
      out.push(text);
      if (random() < 0.3) out.push(`  - Keep the public API of module ${p} stable`, `  - Add unit tests under tests/module${p}/`);
      inPhase.push(id);
    }
    ids.push(...inPhase);
    out.push('', `**VERIFY Phase ${p}:**`, `- [ ] Module ${p} builds and its tests pass`, '');
  }
  out.push('## Success Criteria', '- [ ] Everything works', '');
  return out.join('\n');
}

/** A random plan shaped for scheduling quality: varied estimates, fan-in/fan-out, a few shared files. */
export function generateSchedulingPlan(seed: number, tasks = 40): string {
  const random = rng(seed);
  const phases = 2 + Math.floor(random() * 3);
  const perPhase = Math.ceil(tasks / phases);
  const out = ['# Plan: random scheduling plan', ''];
  const earlier: string[] = [];
  for (let p = 1; p <= phases; p++) {
    out.push(`## Phase ${p}: Part ${p}`, '');
    const here: string[] = [];
    for (let i = 1; i <= perPhase; i++) {
      const id = `${p}.${i}`;
      const est = Math.round(15 + random() * random() * 300);
      const deps: string[] = [];
      if (here.length > 0 && random() < 0.35) deps.push(here[Math.floor(random() * here.length)]!);
      if (earlier.length > 0 && random() < 0.5) deps.push(earlier[Math.floor(random() * earlier.length)]!);
      const file = random() < 0.08 ? ` in \`src/shared/file${Math.floor(random() * 3)}.ts\`` : ` in \`src/p${p}/t${i}.ts\``;
      out.push(`- [ ] ${id} Task ${id}${file}${deps.length ? ` (depends: ${[...new Set(deps)].join(', ')})` : ''} (est: ${est}m)`);
      here.push(id);
    }
    earlier.push(...here);
    out.push('');
  }
  return out.join('\n');
}
