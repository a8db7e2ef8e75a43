import { invalidInput } from '../errors.js';
import type { TensorDescriptor } from '../../runtime/model-types.js';
import { DATATYPES, isDatatype } from '../../pipelines/tensor/datatypes.js';
import { booleanParameter, isJsonObject, parametersOf, refuseUnsupported, type JsonObject } from './parameters.js';

export interface RequestedOutput {
  name: string;
  /** returned as raw bytes after the JSON header (the binary tensor data extension) rather than as JSON data */
  binary: boolean;
}

function binaryEncodable(spec: TensorDescriptor, binary: boolean, field: string): void {
  if (binary && !isDatatype(spec.datatype)) {
    throw invalidInput(field, `output ${spec.name} is ${spec.datatype}; binary data is returned for ${Object.keys(DATATYPES).join(', ')} only, so ask for it as JSON`);
  }
}

/**
 * The outputs an infer request asks for, in its order; all of the model's, in the model's order, when it names none.
 * An output the model does not have is a 400, as in Triton, rather than an answer that silently lacks it.
 */
export function requestedOutputs(body: JsonObject, outputs: readonly TensorDescriptor[]): RequestedOutput[] {
  const binaryByDefault = booleanParameter(parametersOf(body, 'parameters'), 'binary_data_output', 'parameters.binary_data_output') ?? false;
  const names = outputs.map((o) => o.name).join(', ');
  const asked = body.outputs;
  if (asked === undefined) {
    return outputs.map((spec) => {
      binaryEncodable(spec, binaryByDefault, 'parameters.binary_data_output');
      return { name: spec.name, binary: binaryByDefault };
    });
  }
  if (!Array.isArray(asked)) throw invalidInput('outputs', `outputs must be a list of objects, each with the name of one of the model's outputs (${names})`);
  const seen = new Set<string>();
  return asked.map((entry: unknown, i) => {
    const field = `outputs[${i}]`;
    const spec = isJsonObject(entry) ? outputs.find((o) => o.name === entry.name) : undefined;
    if (!isJsonObject(entry) || !spec) throw invalidInput(`${field}.name`, `each entry of outputs is an object whose name is one of the model's outputs: ${names}`);
    if (seen.has(spec.name)) throw invalidInput(`${field}.name`, 'each output may be asked for once');
    seen.add(spec.name);
    const parameters = parametersOf(entry, `${field}.parameters`);
    refuseUnsupported(parameters, `${field}.parameters`, ['classification', 'shared_memory_region']);
    const own = booleanParameter(parameters, 'binary_data', `${field}.parameters.binary_data`);
    binaryEncodable(spec, own ?? binaryByDefault, own === undefined ? 'parameters.binary_data_output' : `${field}.parameters.binary_data`);
    return { name: spec.name, binary: own ?? binaryByDefault };
  });
}
