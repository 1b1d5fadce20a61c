// One error type for everything the provisioning code reports to a user, so the CLI can print the
// message alone (no stack) and exit non-zero, while programming errors still surface with a stack.
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(message: string, readonly code: string = 'EPROVISION') {
    super(message);
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
