import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.js';
import { SCOPES, type Principal, type Scope } from '../principal.js';
import { MAX_TOKEN_LENGTH, TOKEN_PATTERN, type TokenEntry } from './tokens-file.js';

/** Everyone, when auth is off (loopback without tokens, or --insecure-no-auth). */
export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', scopes: new Set<Scope>(SCOPES) });
/** A caller of a route that needs no token, while auth is on. */
export const UNAUTHENTICATED: Principal = Object.freeze({ name: 'anonymous', scopes: new Set<Scope>() });

const BEARER = /^Bearer ([^ ]+)$/i;
const HEADER_LIMIT = 'Bearer '.length + MAX_TOKEN_LENGTH;

interface KnownToken {
  digest: Buffer;
  principal: Principal;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const unauthorized = (message: string): ApiError => new ApiError('unauthorized', message);

/** Turns an Authorization header into a principal, or the 401 that answers it. */
export class Authenticator {
  private readonly known: readonly KnownToken[];

  private constructor(
    tokens: readonly TokenEntry[],
    readonly enabled: boolean,
  ) {
    this.known = tokens.map((t) => ({ digest: sha256(t.token), principal: Object.freeze({ name: t.name, scopes: t.scopes }) }));
  }

  static fromTokens(tokens: readonly TokenEntry[]): Authenticator {
    if (tokens.length === 0) throw new Error('an Authenticator needs at least one token; use Authenticator.disabled() for auth off');
    return new Authenticator(tokens, true);
  }

  static disabled(): Authenticator {
    return new Authenticator([], false);
  }

  /** Never throws: a missing, malformed or unknown credential is a 401. */
  authenticate(authorization: string | undefined): Principal | ApiError {
    if (!this.enabled) return ANONYMOUS;
    if (authorization === undefined || authorization === '') return unauthorized('this route needs a token: send Authorization: Bearer <token>');
    const token = authorization.length <= HEADER_LIMIT ? BEARER.exec(authorization)?.[1] : undefined;
    if (token === undefined || !TOKEN_PATTERN.test(token)) return unauthorized('malformed Authorization header: expected "Bearer <token>"');
    return this.lookUp(token) ?? unauthorized('unknown token');
  }

  /**
   * Compares digests, not tokens, so every comparison has the same length whatever was sent, and visits
   * every known token without an early exit: the time taken says nothing of how close a guess was.
   */
  private lookUp(token: string): Principal | null {
    const digest = sha256(token);
    let found: Principal | null = null;
    for (const known of this.known) {
      if (timingSafeEqual(digest, known.digest)) found = known.principal;
    }
    return found;
  }
}

/** Scopes that come with another: an admin reads every token's jobs, so it reads jobs. */
const IMPLIED_BY: Partial<Record<Scope, Scope>> = { 'jobs:read': 'models:admin' };

/** null when the principal holds the scope, else the 403 naming it. */
export function requireScope(principal: Principal, scope: Scope): ApiError | null {
  const implied = IMPLIED_BY[scope];
  if (principal.scopes.has(scope) || (implied !== undefined && principal.scopes.has(implied))) return null;
  return new ApiError('forbidden', `this token lacks the scope "${scope}" that this route needs`);
}
