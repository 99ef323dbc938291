// Counts a suite's results from its report files, for .ci/run: prints "<passed> <failed> <skipped>".
//
//   node scripts/ci-results.mjs vitest-json report.json
//   node scripts/ci-results.mjs junit report.xml [more.xml ...]               (node --test)
//   node scripts/ci-results.mjs schemathesis-junit team.xml admin.xml
//
// A missing or unreadable report, or one in which no test ran, prints "0 0 0" and exits 3:
// the suite did not get as far as running its tests, and .ci/run counts that as a failure.
// A skipped test is neither passed nor failed. No npm dependencies.

import { readFileSync } from "node:fs";

const [format, ...files] = process.argv.slice(2);

/** Vitest's JSON reporter. A file that failed to load has no failed test but is a failure. */
function countVitest(report) {
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === "failed" && !(file.assertionResults ?? []).some((test) => test.status === "failed"),
  ).length;
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + brokenFiles,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

/**
 * JUnit XML: one <testcase> per test; a <failure> or <error> fails it, a <skipped> skips it.
 * Schemathesis writes one per API operation: at the end of a run it drops the <skipped> notes of
 * every operation that some phase tested, so an operation still <skipped> was tested by none.
 */
function countJunit(xml) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const match of xml.matchAll(/<testcase\b(?:[^>"]|"[^"]*")*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = match[1] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed += 1;
    else if (/<skipped\b/.test(body)) counts.skipped += 1;
    else counts.passed += 1;
  }
  return counts;
}

const total = { passed: 0, failed: 0, skipped: 0 };
try {
  if (!["vitest-json", "junit", "schemathesis-junit"].includes(format) || files.length === 0) {
    throw new Error(`usage: ci-results.mjs vitest-json|junit|schemathesis-junit <report>...`);
  }
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const counts = format === "vitest-json" ? countVitest(JSON.parse(text)) : countJunit(text);
    // Each report must show tests that ran: an empty or cut-off file is no report.
    if (counts.passed + counts.failed === 0) throw new Error(`no test ran in ${file}`);
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
} catch (error) {
  process.stderr.write(`ci-results: ${error.message}\n`);
  process.stdout.write("0 0 0\n");
  process.exit(3);
}
process.stdout.write(`${total.passed} ${total.failed} ${total.skipped}\n`);
