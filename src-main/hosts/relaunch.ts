// Running this process's command again with variables only a new process can take (glibc's
// malloc settings): the child gets the terminal, the parent only waits and passes signals on.
import { spawn } from "node:child_process";
import { constants } from "node:os";

/** Signals a parent receives alone (a process manager's, `kill PID`) and passes to the child. Ctrl-C reaches both through the terminal, so SIGINT is only held off. */
const FORWARDED = ["SIGTERM", "SIGHUP"] as const;

/**
 * Runs `node [execArgv] script args` again with `extra` added to the environment and the same
 * stdio; resolves to the child's exit code (128 + the signal's number when a signal ended it).
 */
export function relaunchWith(extra: Record<string, string>, argv: readonly string[] = process.argv): Promise<number> {
  // The IPC channel only tells the child when this process is gone (see exitWithParent).
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], { stdio: ["inherit", "inherit", "inherit", "ipc"], env: { ...process.env, ...extra } });
  const ignore = (): void => {};
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on("SIGINT", ignore);
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", ignore);
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/**
 * In a relaunched child: end as abruptly as the parent did when it is gone without passing a
 * signal on (a SIGKILL), instead of training on as an orphan beside whatever runs next. Does
 * nothing in a process that was not relaunched; never keeps the process alive by itself.
 */
export function exitWithParent(): void {
  if (!process.send || !process.channel) return;
  process.channel.unref();
  process.once("disconnect", () => process.kill(process.pid, "SIGKILL"));
}
