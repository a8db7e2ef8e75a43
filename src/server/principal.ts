export const SCOPES = ['jobs:write', 'jobs:read', 'models:admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: a token's holder, or everyone when auth is off (loopback without tokens). */
export interface Principal {
  /** the token's name from the tokens file (never the token itself); used in access logs and job ownership */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

export const isAdmin = (p: Principal): boolean => p.scopes.has('models:admin');
