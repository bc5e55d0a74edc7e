/** Exit statuses and signals, Linux numbering. */

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE',
  9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
  16: 'SIGSTKFLT', 17: 'SIGCHLD', 18: 'SIGCONT', 19: 'SIGSTOP', 20: 'SIGTSTP', 21: 'SIGTTIN', 22: 'SIGTTOU',
  23: 'SIGURG', 24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH', 29: 'SIGIO',
  30: 'SIGPWR', 31: 'SIGSYS',
}

const SIGNAL_MEANING: Record<string, string> = {
  SIGHUP: 'hang-up (terminal or controlling process gone)',
  SIGINT: 'interrupt, as from Ctrl-C',
  SIGQUIT: 'quit, usually with a core dump',
  SIGILL: 'illegal CPU instruction (binary built for another CPU?)',
  SIGTRAP: 'trace or breakpoint trap',
  SIGABRT: 'abort() or a failed assertion',
  SIGBUS: 'bus error (bad memory access, often a truncated memory-mapped file)',
  SIGFPE: 'arithmetic error such as integer division by zero',
  SIGKILL: 'kill, cannot be caught',
  SIGUSR1: 'user-defined signal 1, not handled by the program',
  SIGSEGV: 'segmentation fault (invalid memory access)',
  SIGUSR2: 'user-defined signal 2, not handled by the program',
  SIGPIPE: 'write to a pipe or socket with no reader',
  SIGALRM: 'timer alarm not handled by the program',
  SIGTERM: 'termination request',
  SIGSTKFLT: 'coprocessor stack fault',
  SIGXCPU: 'CPU time limit exceeded (ulimit -t)',
  SIGXFSZ: 'file size limit exceeded (ulimit -f)',
  SIGVTALRM: 'virtual timer alarm',
  SIGPROF: 'profiling timer alarm',
  SIGIO: 'I/O possible',
  SIGPWR: 'power failure',
  SIGSYS: 'bad system call (often blocked by seccomp)',
}

/** The name of signal n: SIGHUP … SIGSYS, SIGRTMIN+k for real-time signals. */
export function signalName(n: number): string | undefined {
  const named = SIGNALS[n]
  if (named) return named
  if (n >= 34 && n <= 64) return n === 34 ? 'SIGRTMIN' : n === 64 ? 'SIGRTMAX' : `SIGRTMIN+${n - 34}`
  return undefined
}

export function signalMeaning(name: string): string | undefined {
  return SIGNAL_MEANING[name]
}

/**
 * The exit status as a shell sees it. Runtimes may report codes outside 0–255 (exit(-1), Windows
 * NTSTATUS values): a negative code becomes 256 − (|code| mod 256), a positive one code mod 256.
 */
export function normalizeExitCode(code: number): number {
  if (code >= 0 && code <= 255) return code
  if (code < 0) return (256 - (Math.abs(code) % 256)) % 256
  return code % 256
}

/** The signal behind an exit status 128+n, when n is a real signal number (1–64). */
export function signalOfExit(code: number): { number: number; name: string } | undefined {
  if (code <= 128 || code > 128 + 64) return undefined
  const n = code - 128
  const name = signalName(n)
  return name ? { number: n, name } : undefined
}
