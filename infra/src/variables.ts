// Terraform variables for values the user did not put in the config, and for secrets.
// Each carries a validation mirroring the config patterns, because these values are substituted into cloud-init
// scripts and systemd files at plan time, after any TypeScript check could run.
import { TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';

/** Terraform (RE2) patterns; no backslashes so they survive HCL string quoting unchanged. */
export const VARIABLE_PATTERNS = {
  control_plane_url: '^https?://[A-Za-z0-9.:/_~%-]+$',
  tenant_id: '^[A-Za-z0-9_-]{1,64}$',
  meshgate_repo_url: '^(https://|git@)[A-Za-z0-9._~:/@+-]+$',
  enrollment_key: '^[A-Za-z0-9._~+/=:@%,-]+$',
  // Empty, or at least 32 characters as the control plane demands.
  jwt_secret: '^([A-Za-z0-9._~+/=:@%,-]{32,})?$',
  // Goes into DATABASE_URL unencoded: URL-unreserved characters only (RDS also refuses / @ " and space).
  database_password: '^[A-Za-z0-9._~-]{16,128}$',
} as const;
/** jwt_secret when several replicas must sign alike: required, never generated per instance. */
export const SHARED_JWT_SECRET_PATTERN = '^[A-Za-z0-9._~+/=:@%,-]{32,}$';
export type VariableName = keyof typeof VARIABLE_PATTERNS;

interface VariableOptions {
  sensitive?: boolean;
  default?: string;
  /** Instead of VARIABLE_PATTERNS[name]. */
  pattern?: string;
}

function variable(scope: Construct, name: VariableName, description: string, options: VariableOptions = {}) {
  const { pattern = VARIABLE_PATTERNS[name], ...extra } = options;
  const v = new TerraformVariable(scope, name, {
    type: 'string',
    description,
    nullable: false,
    ...extra,
    validation: [
      {
        condition: `\${can(regex("${pattern}", var.${name}))}`,
        errorMessage: `${name} must match ${pattern}.`,
      },
    ],
  });
  v.overrideLogicalId(name);
  return v;
}

/** The configured value as a literal, or else a required variable (set with TF_VAR_<name> or --var at deploy). */
export function settingOrVariable(scope: Construct, name: VariableName, value: string | undefined, description: string): string {
  return value ?? variable(scope, name, description).stringValue;
}

/**
 * A sensitive variable: only `${var.<name>}` is synthesized. Its value comes from TF_VAR_<name>, --var, or the
 * config (main.ts hands that to Terraform in a root-only tfvars file beside the stack, never in cdk.tf.json).
 */
export function secretVariable(
  scope: Construct, name: VariableName, description: string, optional = false, pattern?: string,
): TerraformVariable {
  return variable(scope, name, description, { sensitive: true, pattern, ...(optional ? { default: '' } : {}) });
}
