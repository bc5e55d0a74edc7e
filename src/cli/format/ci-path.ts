/**
 * The path a CI system shows a finding at. GitLab's merge request widget and GitHub's
 * annotations place a finding only on a path relative to the repository root, with forward
 * slashes: the checks run from that root, so a path given as absolute (or as `./k8s/x.yaml`)
 * is written relative to the working directory when it lies under it.
 */
import { isAbsolute, relative, sep } from 'node:path'

export function ciPath(file: string, cwd: string): string {
  let p = file
  if (isAbsolute(p)) {
    const rel = relative(cwd, p)
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) p = rel
  }
  if (sep !== '/') p = p.split(sep).join('/')
  while (p.startsWith('./')) p = p.slice(2)
  return p
}
