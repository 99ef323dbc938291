// The official Python SDKs (openai, anthropic) for the e2e suite: a venv in .venv-openai/ (git-ignored)
// built from the hashed lock beside this file (scripts/lib/python-env.mjs: the pinned pip, the
// whole closure with --no-deps, then the closure check), reused while nothing it was built from
// changed. `missing` (with what to install) when python3 or its venv module is not there.
import { join } from "node:path";
import { ensurePythonEnv, findPython } from "../../scripts/lib/python-env.mjs";

export const SDK_FLOW = join(import.meta.dirname, "openai-python", "sdk_flow.py");
export const ANTHROPIC_FLOW = join(import.meta.dirname, "openai-python", "anthropic_flow.py");

export async function openAIPython(): Promise<{ python: string } | { missing: string }> {
  try {
    await findPython();
  } catch (error) {
    return { missing: `python3 with its venv module (apt-get install python3 python3-venv): ${(error as Error).message}` };
  }
  return { python: (await ensurePythonEnv("openai-python")).python };
}
