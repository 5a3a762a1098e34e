import type { TestProject } from 'vitest/node'
import { startTestStack } from './global-setup'

/** Global setup of the outage project: its own database behind a Neon stand-in that can be taken down. */
export default function setup(project: TestProject) {
  return startTestStack(project, { neonOutageControl: true })
}
