/**
 * GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` line per finding,
 * which the runner turns into an annotation on the file and line of the pull request, then the
 * summary as plain log text.
 *
 * A command is one line, so what it carries is escaped as the runner unescapes it (the
 * toolkit's escapeData and escapeProperty): `%` `\r` `\n` as %25 %0D %0A in the message, and
 * also `:` and `,` as %3A %2C in a property (file, title), where they would end the value.
 * Before that, text from the manifest has its control characters shown as escapes (a raw ESC
 * would colour the log; a raw newline is already harmless as %0A, but `\n` reads the same) and
 * is shortened, as in the text format. Our own line breaks (between the message and the fix)
 * stay line breaks in the annotation.
 */
import type { CheckReport, ReportError } from '../report.js'
import { objectLabel } from '../report.js'
import type { ReportAction } from '../../engine/types.js'
import { safeText } from '../../text/sanitize.js'
import { ciPath } from './ci-path.js'
import { summaryLines } from './text.js'

/** Skip notes written to the log, as in the text format. */
const MAX_SKIP_LINES = 30

const COMMAND: Readonly<Record<ReportAction, 'error' | 'warning' | 'notice'>> = { deny: 'error', warn: 'warning', info: 'notice' }

/** The message part of a workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** A property value of a workflow command (file=, title=). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

export interface GithubOptions {
  /** Where the run started (the workspace): absolute paths under it are written relative to it. */
  cwd: string
}

interface Place {
  file: string
  line?: number | undefined
  column?: number | undefined
}

function command(kind: 'error' | 'warning' | 'notice', place: Place | undefined, title: string, message: string, cwd: string): string {
  const props: string[] = []
  // Standard input has no file in the repository to annotate: the annotation goes on the run.
  if (place !== undefined && place.file !== '<stdin>') {
    props.push(`file=${escapeProperty(safeText(ciPath(place.file, cwd), 500))}`)
    if (place.line !== undefined) props.push(`line=${place.line}`)
    if (place.line !== undefined && place.column !== undefined) props.push(`col=${place.column}`)
  }
  props.push(`title=${escapeProperty(title)}`)
  return `::${kind} ${props.join(',')}::${escapeData(message)}`
}

function errorPlace(e: ReportError): Place {
  return { file: e.file, line: e.line, column: e.column }
}

export function formatGithub(report: CheckReport, options: GithubOptions): string {
  const out: string[] = []
  for (const o of report.objects) {
    for (const f of o.findings) {
      const src = f.source ?? o.source
      const title = `${safeText(f.rule, 100)} (${f.action}): ${safeText(objectLabel(f.object), 200)}`
      const message = `${safeText(f.path, 300)}: ${safeText(f.message, 1_000)}\nFix: ${safeText(f.fix, 1_000)}`
      out.push(command(COMMAND[f.action], src, title, message, options.cwd))
    }
  }
  for (const e of report.errors) out.push(command('error', errorPlace(e), 'pod-preflight: input error', safeText(e.message, 1_000), options.cwd))
  for (const w of report.warnings) out.push(command('notice', errorPlace(w), 'pod-preflight: note', safeText(w.message, 1_000), options.cwd))
  // Skipped files are log lines, not annotations: a GitOps tree may hold hundreds of values files.
  for (const k of report.skipped.slice(0, MAX_SKIP_LINES)) {
    out.push(`pod-preflight: skipped ${safeText(ciPath(k.file, options.cwd), 300)}${k.line !== undefined ? `:${k.line}` : ''}: ${safeText(k.reason, 500)}`)
  }
  if (report.skipped.length > MAX_SKIP_LINES) out.push(`pod-preflight: … and ${report.skipped.length - MAX_SKIP_LINES} more skipped (-o json lists them all)`)
  // The summary is a plain log line; one starting with '::' would be read as a command.
  out.push(...summaryLines(report, { color: false, showInfo: true }).map((l) => `pod-preflight: ${l}`))
  return `${out.join('\n')}\n`
}
