import { invalidInput } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `parameters` object that a KServe request, input or output may carry; {} when it has none. */
export function parametersOf(holder: JsonObject, field: string): JsonObject {
  const { parameters } = holder;
  if (parameters === undefined) return {};
  if (!isJsonObject(parameters)) throw invalidInput(field, 'parameters must be an object');
  return parameters;
}

/** A boolean parameter, undefined when not given. */
export function booleanParameter(parameters: JsonObject, key: string, field: string): boolean | undefined {
  const value = parameters[key];
  if (value !== undefined && typeof value !== 'boolean') throw invalidInput(field, `${key} must be true or false`);
  return value;
}

/** Extensions whose parameters change where tensors go: refused rather than ignored, so no client waits for data sent elsewhere. */
export function refuseUnsupported(parameters: JsonObject, field: string, keys: readonly string[]): void {
  const key = keys.find((k) => Object.hasOwn(parameters, k));
  if (key) throw invalidInput(`${field}.${key}`, `${key} belongs to a KServe extension this node does not support (GET /v2 lists those it does)`);
}
