/** GET/PUT /api/v1/policies. The document itself is validated by the domain's policy parser (errors name JSON paths). */
export interface PolicyView { version: number; policy: unknown; warnings?: string[] }
