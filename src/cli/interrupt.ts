/**
 * Who answers Ctrl-C. The executable ends every command at once with status 130 and one line;
 * a command that shuts down gracefully on SIGINT (serve) says so here. A flag rather than a
 * count of SIGINT listeners: libraries and test harnesses add listeners of their own.
 */
let handledByCommand = false

/** Called by a command that installs its own SIGINT handler. */
export function handleInterruptInCommand(): void {
  handledByCommand = true
}

export function interruptHandledByCommand(): boolean {
  return handledByCommand
}
