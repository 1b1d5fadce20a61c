// Every failure the library reports is one of these, so callers (and the CLI) can tell a bad
// ec2.ini from an AWS outage from an unwritable cache without parsing messages.

export class InventoryError extends Error {
  override name = 'InventoryError';
}

/** A missing, unreadable or invalid ec2.ini, or an invalid value in it. */
export class SettingsError extends InventoryError {
  override name = 'SettingsError';
  constructor(
    message: string,
    readonly file: string,
    readonly option?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** An AWS API call that failed; names the service and the region it was sent to. */
export class AwsError extends InventoryError {
  override name = 'AwsError';
  constructor(
    message: string,
    readonly service: 'EC2' | 'RDS' | 'Route53' | 'ElastiCache' | 'STS',
    readonly region: string | undefined,
    readonly awsCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The cache folder or files could not be created, written or read. */
export class CacheError extends InventoryError {
  override name = 'CacheError';
  constructor(message: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
