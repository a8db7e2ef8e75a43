import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, invalidInput } from '../errors.js';
import type { NodeLimits } from '../../pipelines/job-handler.js';
import { DATATYPES, isDatatype } from '../../pipelines/tensor/datatypes.js';
import { SourceClosedEarly, type Vault } from '../../scratch/vault.js';
import { BodyEndedEarly, type BodyReader } from './body-reader.js';
import { isJsonObject, parametersOf, refuseUnsupported, type JsonObject } from './parameters.js';

// The request side of the binary tensor data extension: a JSON header, then each binary input's raw little-endian
// bytes in the order of the inputs, each input saying how many in parameters.binary_data_size.

const HEADER_LENGTH = 'Inference-Header-Content-Length';

/** Where a body sent without JSON's Content-Type splits: the JSON header, then the binary data (null: none is announced). */
export interface BodyLayout {
  headerBytes: number;
  binaryBytes: number | null;
}

/**
 * Read from the headers, so that a body the limits refuse is refused before any of it is read: the JSON header is
 * bounded by --body-limit, the binary data by --upload-limit, as a multipart job's part and files are.
 */
export function bodyLayout(headers: IncomingHttpHeaders, limits: NodeLimits): BodyLayout {
  const total = Number(headers['content-length'] ?? Number.NaN);
  if (!Number.isSafeInteger(total)) throw new ApiError('invalid_request', 'a body sent without Content-Type or as application/octet-stream needs a Content-Length', 'Content-Length');
  const declared = headers[HEADER_LENGTH.toLowerCase()];
  if (declared === undefined) {
    if (total > limits.bodyLimitBytes) throw new ApiError('payload_too_large', `the request body is over the node's --body-limit of ${limits.bodyLimitBytes} bytes`);
    return { headerBytes: total, binaryBytes: null };
  }
  if (typeof declared !== 'string' || !/^\d{1,15}$/.test(declared)) {
    throw new ApiError('invalid_request', `${HEADER_LENGTH} must be the length in bytes of the JSON header that starts the body`, HEADER_LENGTH);
  }
  const headerBytes = Number(declared);
  if (headerBytes > total) throw new ApiError('invalid_request', `${HEADER_LENGTH} is larger than the whole body (Content-Length)`, HEADER_LENGTH);
  if (headerBytes > limits.bodyLimitBytes) throw new ApiError('payload_too_large', `the JSON header is over the node's --body-limit of ${limits.bodyLimitBytes} bytes`, HEADER_LENGTH);
  if (total - headerBytes > limits.uploadLimitBytes) throw new ApiError('payload_too_large', `the binary tensor data is over the node's --upload-limit of ${limits.uploadLimitBytes} bytes`);
  return { headerBytes, binaryBytes: total - headerBytes };
}

/** What a shape of a datatype takes in bytes; null where the tensor job will refuse the shape or datatype itself. */
function tensorBytes(datatype: unknown, shape: unknown): number | null {
  if (!isDatatype(datatype) || !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return null;
  return (shape as number[]).reduce((n, d) => n * d, DATATYPES[datatype].bytes);
}

function binaryDataSize(input: unknown, index: number, binaryRequest: boolean): number | null {
  if (!isJsonObject(input)) return null;
  const field = `inputs[${index}].parameters`;
  const parameters = parametersOf(input, field);
  refuseUnsupported(parameters, field, ['shared_memory_region']);
  const size = parameters.binary_data_size;
  if (size === undefined) return null;
  const sizeField = `${field}.binary_data_size`;
  if (!binaryRequest) throw invalidInput(sizeField, `binary data needs the ${HEADER_LENGTH} header, giving the length of the JSON header that the tensor bytes follow`);
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw invalidInput(sizeField, 'binary_data_size must be a non-negative integer: the bytes of this input');
  if (input.data !== undefined) throw invalidInput(`inputs[${index}].data`, 'an input has either data or parameters.binary_data_size, not both');
  const needed = tensorBytes(input.datatype, input.shape);
  if (needed !== null && size !== needed) throw invalidInput(sizeField, `binary_data_size is ${size as number} bytes; the input's shape and datatype take ${needed}`);
  return size as number;
}

/**
 * Each input's binary_data_size (null for one with JSON data), checked against the bytes the body has after its JSON
 * header: every byte belongs to exactly one input.
 */
export function binaryInputSizes(inputs: unknown, binaryBytes: number | null): Array<number | null> {
  // not a list: the tensor job refuses it, with its own words
  if (!Array.isArray(inputs)) return [];
  const sizes = inputs.map((input, i) => binaryDataSize(input, i, binaryBytes !== null));
  if (binaryBytes === null) return sizes;
  let claimed = 0;
  let last = -1;
  sizes.forEach((size, i) => {
    if (size === null) return;
    claimed += size;
    last = i;
    if (claimed > binaryBytes) {
      throw invalidInput(`inputs[${i}].parameters.binary_data_size`, `the body ends before this input's binary data: it has ${binaryBytes} bytes after the JSON header, and the inputs up to this one claim ${claimed}`);
    }
  });
  if (claimed < binaryBytes) {
    const field = last < 0 ? HEADER_LENGTH : `inputs[${last}].parameters.binary_data_size`;
    throw invalidInput(field, `the body has ${binaryBytes - claimed} bytes after the JSON header that no input's binary_data_size accounts for`);
  }
  return sizes;
}

/**
 * Streams each binary input from the body into the job's input vault and points its data there ("file:<part>"),
 * as a multipart upload's part would be: its plaintext is never held whole, and it is erased with the job's inputs.
 */
export async function stageBinaryInputs(reader: BodyReader, inputs: unknown[], sizes: Array<number | null>, vault: Vault): Promise<unknown[]> {
  const staged: unknown[] = [];
  for (const [i, input] of inputs.entries()) {
    const size = sizes[i] ?? null;
    if (size === null) {
      staged.push(input);
      continue;
    }
    const part = `binary-${i}`;
    const field = `inputs[${i}].parameters.binary_data_size`;
    // the layout was checked against the headers' sizes, so the vault's bound is this input's size and is never reached
    const overSize = (): ApiError => invalidInput(field, 'the binary data is longer than binary_data_size');
    await vault.writeStream(part, 'application/octet-stream', reader.stream(size), size, overSize).catch((err: unknown) => {
      if (err instanceof BodyEndedEarly || err instanceof SourceClosedEarly) throw new ApiError('invalid_request', "the body ended before this input's binary data", field);
      throw err;
    });
    staged.push({ ...(input as JsonObject), data: `file:${part}` });
  }
  return staged;
}
