/** One line of the benchmark table: every figure with the baseline it was measured against in the same run. */
export interface BenchRow {
  name: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
}
