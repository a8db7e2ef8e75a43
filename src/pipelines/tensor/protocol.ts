import type { Datatype, TensorArray } from './datatypes.js';

export interface WireTensor {
  name: string;
  datatype: Datatype | string;
  shape: number[];
  data: TensorArray;
}

export interface TensorPayload {
  inputs: WireTensor[];
}

export interface TensorResult {
  outputs: WireTensor[];
}
