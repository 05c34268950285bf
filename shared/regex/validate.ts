import { compileRegex } from "./compile.ts";
import { type RegexHolder, regexFields } from "./fields.ts";

// Apply-time: every RegularExpression a resource holds must be one the edges can run (RE2 syntax,
// within the program size limit), refused with the field's path otherwise, as Istio refuses a
// VirtualService whose regex RE2 does not accept. Only admin-side schemas call this (it loads RE2).

export type RegexIssue = { path: (string | number)[]; message: string };

/** Why the edges could not run each of a match's regular expressions (none: all can). */
export function regexIssues(m: RegexHolder): RegexIssue[] {
  return regexFields(m).flatMap(({ path, source }) => {
    const compiled = compileRegex(source);
    return compiled.ok ? [] : [{ path, message: `invalid regular expression: ${compiled.reason}` }];
  });
}
