import { DataAwsAmi } from '@cdktf/provider-aws/lib/data-aws-ami';
import { Construct } from 'constructs';

/** Canonical's account, which publishes the official Ubuntu AMIs. */
export const CANONICAL_OWNER_ID = '099720109477';

/** The newest Ubuntu 22.04 (jammy) amd64 server AMI in the provider's region. */
export function ubuntuJammyAmi(scope: Construct, id = 'ubuntu-jammy'): DataAwsAmi {
  return new DataAwsAmi(scope, id, {
    mostRecent: true,
    owners: [CANONICAL_OWNER_ID],
    filter: [
      { name: 'name', values: ['ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*'] },
      { name: 'architecture', values: ['x86_64'] },
      { name: 'virtualization-type', values: ['hvm'] },
    ],
  });
}
