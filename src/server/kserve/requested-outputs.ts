import { invalidInput } from '../errors.js';
import type { TensorDescriptor } from '../../runtime/model-types.js';
import { isJsonObject, parametersOf, refuseUnsupported, type JsonObject } from './parameters.js';

/**
 * The names of the outputs an infer request asks for, in its order; all of the model's, in the model's order, when it
 * names none. An output the model does not have is a 400, as in Triton, rather than an answer that silently lacks it.
 */
export function requestedOutputs(body: JsonObject, outputs: readonly TensorDescriptor[]): string[] {
  const names = outputs.map((o) => o.name).join(', ');
  const asked = body.outputs;
  if (asked === undefined) return outputs.map((spec) => spec.name);
  if (!Array.isArray(asked)) throw invalidInput('outputs', `outputs must be a list of objects, each with the name of one of the model's outputs (${names})`);
  const seen = new Set<string>();
  return asked.map((entry: unknown, i) => {
    const field = `outputs[${i}]`;
    const spec = isJsonObject(entry) ? outputs.find((o) => o.name === entry.name) : undefined;
    if (!isJsonObject(entry) || !spec) throw invalidInput(`${field}.name`, `each entry of outputs is an object whose name is one of the model's outputs: ${names}`);
    if (seen.has(spec.name)) throw invalidInput(`${field}.name`, 'each output may be asked for once');
    seen.add(spec.name);
    refuseUnsupported(parametersOf(entry, `${field}.parameters`), `${field}.parameters`, ['classification', 'shared_memory_region']);
    return spec.name;
  });
}
