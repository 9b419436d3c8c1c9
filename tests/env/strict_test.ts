/**
 * Under `USS_TEST_STRICT=1` (CI) nothing may be skipped: the tests marked
 * `ignore: !IS_ROOT` need root, so a strict run that is not root fails here
 * once, with the reason, instead of passing with those tests ignored.
 */

import { IS_ROOT, STRICT } from "../helpers.ts";

Deno.test("strict: USS_TEST_STRICT=1 runs as root, so no privileged test is ignored", () => {
  if (!STRICT) return;
  if (!IS_ROOT) {
    throw new Error(
      `USS_TEST_STRICT=1 but uid ${Deno.uid()}: the privileged tests (kpagecount, ` +
        `cgroups, swap, procfs mounts) would be ignored; run as root`,
    );
  }
});
