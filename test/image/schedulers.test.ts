// Reference values: computed with numpy (python3) from the formulas of diffusers' scheduling_euler_discrete.py,
// scheduling_euler_ancestral_discrete.py, scheduling_ddim.py and scheduling_lcm.py, written out independently of
// this code (float64; σ and Euler timesteps rounded to float32 as diffusers holds them). SD 1.5's config:
// scaled_linear 0.00085 → 0.012, 1000 training steps, leading spacing, steps_offset 1, clip_sample off; sample x = 0.5, model output 0.2.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { readDiffusionConfig } from '../../src/pipelines/diffusion/model-config.js';
import { createScheduler, defaultSchedulerName, parseSchedulerConfigs, startStep, unsupportedSamplers, type SchedulerConfigs } from '../../src/pipelines/diffusion/schedulers/index.js';
import { alphasCumprod } from '../../src/pipelines/diffusion/schedulers/config.js';
import type { NormalSource } from '../../src/pipelines/diffusion/noise.js';
import { EulerScheduler } from '../../src/pipelines/diffusion/schedulers/euler.js';

const sd15 = (extra: Record<string, unknown> = {}): SchedulerConfigs =>
  parseSchedulerConfigs({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'leading', steps_offset: 1, clip_sample: false, ...extra });
const x = new Float32Array([0.5]);
const m = new Float32Array([0.2]);
const zero: NormalSource = { normal: () => 0 };
const one: NormalSource = { normal: () => 1 };

function close(t: Test, actual: readonly number[], expected: readonly number[], tolerance = 1e-5): void {
  t.equal(actual.length, expected.length, 'length');
  actual.forEach((a, i) => t.ok(Math.abs(a - expected[i]!) <= tolerance * Math.max(1, Math.abs(expected[i]!)), `[${i}] ${a} ≈ ${expected[i]}`));
}

t.test('the beta schedules give the alphas_cumprod diffusers computes', async (t) => {
  const scaled = alphasCumprod(sd15().euler);
  close(t, [scaled[0]!, scaled[500]!, scaled[999]!], [0.99915, 0.2763326838229746, 0.004660098513077238], 1e-9);
  const cosine = alphasCumprod(parseSchedulerConfigs({ beta_schedule: 'squaredcos_cap_v2' }).euler);
  close(t, [cosine[0]!, cosine[500]!, cosine[999]!], [0.999958715775178, 0.49228517244880304, 2.4287669070348567e-9], 1e-9);
  const linear = alphasCumprod(parseSchedulerConfigs({}).euler);
  close(t, [linear[999]!], [4.035829765375676e-5], 1e-9);
});

t.test("a model's table is made once, not per job; another config gets its own", async (t) => {
  const config = sd15().euler;
  t.equal(alphasCumprod(config), alphasCumprod(config), 'the same table for every job of a model');
  t.ok(alphasCumprod(sd15({ beta_end: 0.02 }).euler)[999]! < alphasCumprod(config)[999]!, 'a larger beta_end keeps less signal');
});

t.test('euler spaces timesteps leading, trailing and linspace and interpolates their sigmas', async (t) => {
  const leading = new EulerScheduler(sd15().euler, 4, false);
  close(t, leading.timesteps, [751, 501, 251, 1]);
  close(t, leading.sigmas, [4.1166964, 1.623692, 0.6983981, 0.041314412, 0]);
  close(t, [leading.initNoiseSigma], [4.23641226767688]);
  const trailing = new EulerScheduler(sd15({ timestep_spacing: 'trailing' }).euler, 4, false);
  close(t, trailing.timesteps, [999, 749, 499, 249]);
  close(t, trailing.sigmas, [14.614641, 4.0817294, 1.6128862, 0.6932049, 0]);
  close(t, [trailing.initNoiseSigma], [14.614641]);
  const linspace = new EulerScheduler(sd15({ timestep_spacing: 'linspace' }).euler, 4, false);
  close(t, linspace.timesteps, [999, 666, 333, 0]);
  close(t, linspace.sigmas, [14.614641, 2.918307, 0.93235797, 0.029167159, 0]);
});

t.test('an euler step matches diffusers for epsilon and v-prediction', async (t) => {
  const euler = createScheduler('euler', sd15().euler, 4).scheduler;
  close(t, [x[0]! * euler.modelInputScale(0)], [0.11802439621254916]);
  close(t, [...euler.step(m, 0, x, zero)], [0.0013991355895995872]);
  const v = createScheduler('euler', sd15({ prediction_type: 'v_prediction' }).euler, 4).scheduler;
  close(t, [...v.step(m, 0, x, zero)], [0.0963852743444597]);
});

t.test('an euler ancestral step moves to sigma_down and adds sigma_up of fresh noise', async (t) => {
  const ancestral = createScheduler('euler_a', sd15().euler_a, 4).scheduler;
  close(t, [...ancestral.step(m, 0, x, zero)], [-0.19525715920957565]);
  close(t, [...ancestral.step(m, 0, x, one)], [-0.19525715920957565 + 1.4920623777859794]);
});

t.test('a ddim step matches diffusers for epsilon and v-prediction', async (t) => {
  const ddim = createScheduler('ddim', sd15().ddim, 4).scheduler;
  t.same(ddim.timesteps, [751, 501, 251, 1]);
  close(t, [...ddim.step(m, 0, x, zero)], [0.8493267505869097]);
  close(t, [...ddim.step(m, 3, x, zero)], [0.49216365582544613], 1e-5);
  const v = createScheduler('ddim', sd15({ prediction_type: 'v_prediction' }).ddim, 4).scheduler;
  close(t, [...v.step(m, 0, x, zero)], [0.41387736706441264]);
});

t.test('ddim clips the predicted original sample when clip_sample is set', async (t) => {
  const ddim = createScheduler('ddim', sd15({ clip_sample: true }).ddim, 4).scheduler;
  // at the last step (ᾱ_prev = 1) the output is x̂₀ itself: (3 − √(1−ᾱ)·0.2)/√ᾱ > 1 is clipped to 1
  close(t, [...ddim.step(m, 3, new Float32Array([3]), zero)], [1]);
});

t.test('lcm picks its timesteps from the distillation grid and its last step is the boundary-conditioned x0', async (t) => {
  const lcm = createScheduler('lcm', sd15().lcm, 4).scheduler;
  t.same(lcm.timesteps, [999, 759, 499, 259]);
  close(t, [...lcm.step(m, 3, x, one)], [0.47205976385330556]);
});

t.test('ddpm-style samplers noise an image to the level of their step', async (t) => {
  const ddim = createScheduler('ddim', sd15().ddim, 4).scheduler;
  close(t, [...ddim.addNoise(x, m, 1)], [0.4324957404325387]);
  const euler = createScheduler('euler', sd15().euler, 4).scheduler;
  close(t, [...euler.addNoise(x, m, 1)], [0.5 + 0.2 * 1.623692]);
});

t.test('strength sets the first step as diffusers img2img does', async (t) => {
  t.equal(createScheduler('euler', sd15().euler, 4, 0.5).firstStep, 2);
  t.equal(createScheduler('ddim', sd15().ddim, 4, 0.5).firstStep, 2);
  t.equal(startStep(4, 1), 0);
  t.equal(startStep(4, 0.5), 2);
  t.equal(startStep(10, 0.25), 8);
  t.equal(startStep(4, 0), 4);
});

t.test('a scheduler config with an unsupported schedule is refused', async (t) => {
  t.throws(() => parseSchedulerConfigs({ beta_schedule: 'sigmoid' }), /beta_schedule/);
  t.throws(() => parseSchedulerConfigs({ timestep_spacing: 42 }), /timestep_spacing/);
});

t.test('a model without a scheduler name in the job gets the sampler its scheduler_config.json names', async (t) => {
  t.equal(defaultSchedulerName({ _class_name: 'EulerAncestralDiscreteScheduler' }), 'euler_a');
  t.equal(defaultSchedulerName({ _class_name: 'LCMScheduler' }), 'lcm');
  t.equal(defaultSchedulerName({ _class_name: 'DDIMScheduler' }), 'ddim');
  t.equal(defaultSchedulerName({ _class_name: 'PNDMScheduler' }), 'pndm');
  t.equal(defaultSchedulerName({ _class_name: 'EulerDiscreteScheduler' }), 'euler');
});

t.test('euler with use_karras_sigmas spaces sigma as Karras et al. and reads the timesteps back from log sigma', async (t) => {
  const karras = new EulerScheduler(sd15({ use_karras_sigmas: true }).euler, 4, false);
  close(t, karras.sigmas, [4.1166964793, 1.2087769934, 0.2733869317, 0.041314412, 0]);
  close(t, karras.timesteps, [751, 411.41532015994017, 69.40329033161952, 1]);
});

// diffusers makes the job's sampler with <Class>.from_config(the model's config): the file's fields, the class's own
// __init__ defaults for the others (scheduling_euler_discrete.py, scheduling_euler_ancestral_discrete.py,
// scheduling_ddim.py, scheduling_lcm.py). Expected values by numpy from those formulas, as above.
const withoutSpacing = parseSchedulerConfigs({ _class_name: 'EulerDiscreteScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 });

t.test('euler and euler ancestral space linspace where the config has no timestep_spacing', async (t) => {
  for (const name of ['euler', 'euler_a'] as const) {
    const euler = new EulerScheduler(withoutSpacing[name], 5, name === 'euler_a');
    close(t, euler.timesteps, [999, 749.25, 499.5, 249.75, 0]);
    close(t, euler.sigmas, [14.614641, 4.0860882, 1.6155825, 0.69515043, 0.029167159, 0]);
    close(t, [euler.initNoiseSigma], [14.614641], 1e-5);
  }
});

t.test('ddim takes its own defaults where the config has none: leading spacing, clip_sample and set_alpha_to_one on', async (t) => {
  const ddim = createScheduler('ddim', withoutSpacing.ddim, 4).scheduler;
  t.same(ddim.timesteps, [751, 501, 251, 1], 'leading, with the file\'s steps_offset 1');
  // the last step goes to ᾱ_prev = 1 (set_alpha_to_one), so its output is x̂₀ = (3 − √(1−ᾱ₁)·0.2)/√ᾱ₁ = 2.994…, clipped to 1
  close(t, [...ddim.step(m, 3, new Float32Array([3]), zero)], [1]);
  const unclipped = createScheduler('ddim', sd15().ddim, 4).scheduler;
  close(t, [...unclipped.step(m, 3, new Float32Array([3]), zero)], [2.9942963469494597]);
});

t.test('lcm takes its own beta schedule where the config has none; euler takes linear', async (t) => {
  const bare = parseSchedulerConfigs({ _class_name: 'EulerDiscreteScheduler' });
  close(t, [alphasCumprod(bare.lcm)[999]!], [0.004660098513077238], 1e-9);
  close(t, [alphasCumprod(bare.euler)[999]!], [4.035829765375676e-5], 1e-9);
  t.same(createScheduler('lcm', bare.lcm, 4).scheduler.timesteps, [999, 759, 499, 259], 'original_inference_steps 50');
});

t.test("a field the sampler's class does not take is ignored: euler ancestral has no use_karras_sigmas", async (t) => {
  const karras = sd15({ use_karras_sigmas: true });
  close(t, new EulerScheduler(karras.euler_a, 4, true).sigmas, [4.1166964, 1.623692, 0.6983981, 0.041314412, 0]);
  close(t, new EulerScheduler(karras.euler, 4, false).sigmas, [4.1166964793, 1.2087769934, 0.2733869317, 0.041314412, 0]);
});

// LCMScheduler.set_timesteps(steps, strength=) as LatentConsistencyModelImg2ImgPipeline calls it: the grid is
// range(1, int(original_steps × strength) + 1) × k − 1, reversed, indexed at floor(linspace(0, len, steps,
// endpoint=False)); expected values by numpy from those lines.
t.test('lcm image-to-image runs all its steps on the part of the grid the strength keeps', async (t) => {
  const half = createScheduler('lcm', sd15().lcm, 4, 0.5);
  t.equal(half.firstStep, 0, 'no step is skipped');
  t.same(half.scheduler.timesteps, [499, 379, 259, 139]);
  t.same(createScheduler('lcm', sd15().lcm, 3, 0.3).scheduler.timesteps, [299, 199, 99]);
  t.same(createScheduler('lcm', sd15().lcm, 4, 1).scheduler.timesteps, [999, 759, 499, 259], 'strength 1 is text-to-image');
});

t.test("lcm indexes its grid at numpy's linspace, i × (len / steps)", async (t) => {
  // at index 11, 11 × (30 / 22) floors to 14 where 11 × 30 / 22 is 15
  t.same(createScheduler('lcm', sd15().lcm, 22, 0.6).scheduler.timesteps, [
    599, 579, 559, 519, 499, 479, 439, 419, 399, 359, 339, 319, 279, 259, 219, 199, 179, 139, 119, 99, 59, 39,
  ]);
});

t.test('lcm refuses more steps than the grid keeps at the strength, as diffusers does', async (t) => {
  t.throws(() => createScheduler('lcm', sd15().lcm, 26, 0.5), /at most 25 steps/);
  t.throws(() => createScheduler('lcm', sd15().lcm, 51), /at most 50 steps/);
  t.throws(() => createScheduler('lcm', sd15().lcm, 1, 0.01), /at most 0 steps/);
});

// Scheduler fields the samplers do not implement, as the scheduler_config.json files of real exports carry them
// (stabilityai/sd-turbo, SimianLuo/LCM_Dreamshaper_v7, stabilityai/stable-diffusion-2-1): set to their plain
// values they change nothing; set otherwise, the samplers whose diffusers class takes them refuse the file.
// Each is given skip_prk_steps: true, without which pndm is refused (see the test after next).
const PLMS = { skip_prk_steps: true };

t.test('the plain values real exports carry leave every sampler able to run', async (t) => {
  const turbo = { _class_name: 'EulerDiscreteScheduler', interpolation_type: 'linear', sigma_max: null, sigma_min: null, timestep_type: 'discrete', trained_betas: null, use_karras_sigmas: false, timestep_spacing: 'trailing', ...PLMS };
  const lcm = { _class_name: 'LCMScheduler', rescale_betas_zero_snr: false, thresholding: false, dynamic_thresholding_ratio: 0.995, sample_max_value: 1, trained_betas: null, ...PLMS };
  const sd21 = { _class_name: 'DDIMScheduler', prediction_type: 'v_prediction', trained_betas: null, clip_sample: false, set_alpha_to_one: false, ...PLMS };
  const sd15 = { _class_name: 'PNDMScheduler', set_alpha_to_one: false, steps_offset: 1, trained_betas: null, clip_sample: false, ...PLMS };
  for (const raw of [turbo, lcm, sd21, sd15]) t.same(unsupportedSamplers(raw), {}, raw._class_name);
});

t.test('a setting a sampler does not implement refuses the samplers whose class takes it, and only those', async (t) => {
  t.same(Object.keys(unsupportedSamplers({ rescale_betas_zero_snr: true, ...PLMS })).sort(), ['ddim', 'euler', 'euler_a', 'lcm']);
  t.same(Object.keys(unsupportedSamplers({ trained_betas: [0.001, 0.002], ...PLMS })).sort(), ['ddim', 'euler', 'euler_a', 'lcm', 'pndm']);
  t.same(Object.keys(unsupportedSamplers({ thresholding: true, ...PLMS })).sort(), ['ddim', 'lcm']);
  for (const raw of [{ final_sigmas_type: 'sigma_min' }, { interpolation_type: 'log_linear' }, { timestep_type: 'continuous' }, { use_exponential_sigmas: true }, { use_beta_sigmas: true }]) {
    t.same(Object.keys(unsupportedSamplers({ ...raw, ...PLMS })), ['euler'], JSON.stringify(raw));
  }
  t.match(unsupportedSamplers({ final_sigmas_type: 'sigma_min' }).euler, /final_sigmas_type "sigma_min" is not implemented by the euler sampler/);
  t.same(unsupportedSamplers({ sigma_min: 0.1, ...PLMS }), {}, 'sigma_min bounds only Karras spacing');
  t.same(Object.keys(unsupportedSamplers({ sigma_min: 0.1, use_karras_sigmas: true, ...PLMS })), ['euler']);
});

// PNDMScheduler's skip_prk_steps defaults to false: Runge–Kutta warm-up steps, which pndm does not implement
t.test('pndm is refused only where the file asks for Runge–Kutta steps (skip_prk_steps false)', async (t) => {
  t.same(unsupportedSamplers({ _class_name: 'PNDMScheduler', skip_prk_steps: false }), {
    pndm: 'scheduler_config.json: skip_prk_steps false is not implemented by the pndm sampler',
  });
  t.same(unsupportedSamplers({ _class_name: 'LCMScheduler' }), {}, 'a file of another class that says nothing is taken as PLMS');
  t.same(unsupportedSamplers({ skip_prk_steps: null }), unsupportedSamplers({}), 'null is absent');
});

t.test('a model whose default sampler cannot follow its scheduler config does not load', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'infernode-scheduler-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'scheduler'));
  const write = (raw: object): Promise<void> => writeFile(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify(raw));
  await write({ _class_name: 'EulerDiscreteScheduler', rescale_betas_zero_snr: true, timestep_spacing: 'trailing' });
  await t.rejects(readDiffusionConfig(dir), { name: 'Error', message: /rescale_betas_zero_snr true is not implemented by the euler sampler, the sampler this model's _class_name/ });
  await write({ _class_name: 'EulerDiscreteScheduler', thresholding: true, ...PLMS });
  t.same(Object.keys((await readDiffusionConfig(dir)).unsupportedSchedulers).sort(), ['ddim', 'lcm'], 'euler does not take thresholding: the model loads');
  await write({ _class_name: 'PNDMScheduler', steps_offset: 1, ...PLMS });
  t.equal((await readDiffusionConfig(dir)).defaultScheduler, 'pndm');
});

t.test('a PNDM file asking for Runge–Kutta steps loads and runs euler by default, refusing pndm', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'infernode-scheduler-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'scheduler'));
  await writeFile(path.join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'PNDMScheduler', steps_offset: 1, skip_prk_steps: false }));
  const config = await readDiffusionConfig(dir);
  t.equal(config.defaultScheduler, 'euler');
  t.same(Object.keys(config.unsupportedSchedulers), ['pndm']);
});

// pndm: expected values by a Python script (standard library, float64) written from the formulas of diffusers'
// scheduling_pndm.py with skip_prk_steps (set_timesteps, step_plms with its `ets` history, _get_prev_sample,
// add_noise), independently of this code. SD 1.5's config as above; the UNet outputs 0.2, −0.1, 0.3, 0.05, 0.15
// in turn, each run given the sample the one before returned, from 0.5.
const PNDM_OUTPUTS = [0.2, -0.1, 0.3, 0.05, 0.15];

/** The samples a pndm job of one item returns run after run, from x. */
function pndmRuns(configs: SchedulerConfigs, steps: number, strength = 1): number[] {
  const { scheduler, firstStep } = createScheduler('pndm', configs.pndm, steps, strength);
  const out: number[] = [];
  let sample: Float32Array = x;
  for (let step = firstStep; step < scheduler.timesteps.length; step++) {
    sample = scheduler.step(Float32Array.of(PNDM_OUTPUTS[step - firstStep]!), step, sample, zero);
    out.push(sample[0]!);
  }
  return out;
}

t.test('pndm visits the spaced timesteps with the second one twice', async (t) => {
  const table = (extra: Record<string, unknown>, steps: number): readonly number[] => createScheduler('pndm', sd15(extra).pndm, steps).scheduler.timesteps;
  t.same(table({}, 4), [751, 501, 501, 251, 1], "SD 1.5's: leading, steps_offset 1");
  t.same(table({ steps_offset: 0 }, 5), [800, 600, 600, 400, 200, 0]);
  t.same(table({ timestep_spacing: 'linspace' }, 4), [999, 666, 666, 333, 0]);
  t.same(table({ timestep_spacing: 'linspace' }, 3), [999, 500, 500, 0], '499.5 rounds half to even');
  t.same(table({ timestep_spacing: 'trailing' }, 4), [999, 749, 749, 499, 249]);
  t.same(table({}, 2), [501, 1, 1]);
  t.same(table({}, 1), [1], 'one step is one run: nothing is repeated');
});

t.test('pndm steps with the first output, redoes that step with the mean of two, then combines up to four', async (t) => {
  close(t, pndmRuns(sd15(), 4), [0.8493267505869098, 1.0454277981912918, 1.368903468249968, 1.8132622042498412, 1.806651159531504]);
  close(t, pndmRuns(sd15({ prediction_type: 'v_prediction' }), 4).slice(0, 2), [0.4138773670644126, 0.4601667812541419]);
});

t.test('a last pndm step goes to final_alpha_cumprod: ᾱ₀, or 1 with set_alpha_to_one', async (t) => {
  close(t, pndmRuns(sd15(), 1), [0.4977853936991348]);
  close(t, pndmRuns(sd15({ set_alpha_to_one: true }), 1), [0.49216365582544613]);
});

t.test('pndm steps ⌊T/steps⌋ down whatever the spacing (linspace 4: from 999 to 749, then 916 to 666)', async (t) => {
  close(t, pndmRuns(sd15({ timestep_spacing: 'linspace' }), 4).slice(0, 2), [1.24161737731731, 1.3820257865494945]);
});

t.test('pndm image-to-image skips the first entries of its table and counts its runs afresh, as diffusers', async (t) => {
  const half = createScheduler('pndm', sd15().pndm, 4, 0.5);
  t.equal(half.firstStep, 2);
  t.same(half.scheduler.timesteps.slice(half.firstStep), [501, 251, 1]);
  close(t, pndmRuns(sd15(), 4, 0.5), [0.6299759784152865, 0.74376610407834, 0.73983442435864]);
  close(t, [...half.scheduler.addNoise(x, m, half.firstStep)], [0.4324957404325387]);
  t.equal(createScheduler('pndm', sd15().pndm, 4, 0.75).firstStep, 1);
  t.equal(createScheduler('pndm', sd15().pndm, 4, 0).firstStep, 5, 'strength 0: past the table, no run');
});

t.test('pndm keeps one history per item of a batch', async (t) => {
  const alone = pndmRuns(sd15(), 4);
  const pndm = createScheduler('pndm', sd15().pndm, 4).scheduler;
  const samples: Float32Array[] = [x, Float32Array.of(-1)];
  const first: number[] = [];
  for (let step = 0; step < pndm.timesteps.length; step++) {
    samples[1] = pndm.step(Float32Array.of(0.4), step, samples[1]!, zero, 1);
    samples[0] = pndm.step(Float32Array.of(PNDM_OUTPUTS[step]!), step, samples[0]!, zero, 0);
    first.push(samples[0]![0]!);
  }
  close(t, first, alone);
  t.equal(pndm.warmupCalls, 1);
  t.equal(createScheduler('pndm', sd15().pndm, 1).scheduler.warmupCalls, 0);
});

t.test("pndm takes PNDMScheduler's own defaults where the file has none", async (t) => {
  const bare = parseSchedulerConfigs({ _class_name: 'PNDMScheduler', skip_prk_steps: true }).pndm;
  t.same(createScheduler('pndm', bare, 4).scheduler.timesteps, [750, 500, 500, 250, 0], 'leading, steps_offset 0');
  close(t, [alphasCumprod(bare)[999]!], [4.035829765375676e-5], 1e-9);
  t.equal(bare.set_alpha_to_one, false);
});
