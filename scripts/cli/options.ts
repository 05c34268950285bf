import { CliError } from "./client.ts";

/** `--trace-sampling`: a share from 0 to 1, or a one-line reason why not. */
export function samplingRate(text: string): number {
  const rate = Number(text);
  if (text.trim() === "" || !(rate >= 0 && rate <= 1)) throw new CliError(`--trace-sampling must be a number from 0 to 1 (got ${JSON.stringify(text)})`);
  return rate;
}
