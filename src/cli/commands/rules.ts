import { UsageError, type CliIO } from '../io.js'

export async function run(_args: string[], _io: CliIO): Promise<number> {
  throw new UsageError('rules is not available in this build yet')
}
