import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { KUBERNETES_DIR, REPO_ROOT, kubernetesFiles, manifest, readYamlDocuments, type Manifest } from './deploy-files.js';

const daemonSet = await manifest('DaemonSet');
const pod: Manifest = daemonSet['spec']['template']['spec'];
const container: Manifest = pod['containers'].find((c: Manifest) => c['name'] === 'infernode');
const args: string[] = container['args'];

/** the value of `--flag=value` in the container's args */
function flag(name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function mountOf(volume: string): Manifest | undefined {
  return container['volumeMounts'].find((m: Manifest) => m['name'] === volume);
}

function volume(name: string): Manifest {
  return pod['volumes'].find((v: Manifest) => v['name'] === name);
}

t.test('every YAML file of deploy/kubernetes parses, each document with an apiVersion, a kind and a name', async (t) => {
  const files = await kubernetesFiles();
  t.ok(files.length >= 6);
  for (const file of files) {
    const docs = await readYamlDocuments(file);
    t.ok(docs.length > 0, `${path.basename(file)} has a document`);
    for (const doc of docs) {
      t.type(doc['apiVersion'], 'string', `${path.basename(file)}: apiVersion`);
      t.type(doc['kind'], 'string', `${path.basename(file)}: kind`);
      if (doc['kind'] !== 'Kustomization') t.type(doc['metadata']?.['name'], 'string', `${path.basename(file)}: metadata.name`);
    }
  }
});

t.test('the kustomization lists every manifest of the directory', async (t) => {
  const [kustomization] = await readYamlDocuments(path.join(KUBERNETES_DIR, 'kustomization.yaml'));
  const manifests = (await kubernetesFiles()).map((f) => path.basename(f)).filter((f) => f !== 'kustomization.yaml');
  t.same([...kustomization!['resources']].sort(), manifests);
});

t.test('the DaemonSet runs on GPU nodes: a GPU limit, a node selector and the GPU taint tolerated', async (t) => {
  t.equal(String(container['resources']['limits']['nvidia.com/gpu']), '1');
  t.ok(Object.keys(pod['nodeSelector']).some((k) => k.startsWith('nvidia.com/')));
  t.ok(pod['tolerations'].some((tol: Manifest) => tol['key'] === 'nvidia.com/gpu' && tol['operator'] === 'Exists'));
  t.equal(flag('device'), 'cuda:0', 'a GPU node fails loudly instead of falling back to the CPU');
});

t.test('liveness probes /healthz and readiness probes /readyz on the API port', async (t) => {
  t.equal(container['livenessProbe']['httpGet']['path'], '/healthz');
  t.equal(container['readinessProbe']['httpGet']['path'], '/readyz');
  t.equal(container['startupProbe']['httpGet']['path'], '/healthz');
  const apiPort = container['ports'].find((p: Manifest) => p['containerPort'] === Number(flag('port')));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    t.equal(container[probe]['httpGet']['port'], apiPort['name'], `${probe} on the API port`);
    t.equal(container[probe]['httpGet']['scheme'], 'HTTPS', `${probe} speaks TLS like the API`);
  }
});

t.test('the termination grace period covers the drain timeout plus a margin to erase and close', async (t) => {
  const drainS = Number(/^(\d+)s?$/.exec(flag('drain-timeout') ?? '')?.[1]);
  const graceS = pod['terminationGracePeriodSeconds'];
  t.ok(drainS > 0, 'the DaemonSet sets --drain-timeout');
  t.ok(graceS >= drainS + 10 && graceS <= drainS + 30, `grace ${graceS}s for a ${drainS}s drain`);
});

t.test('the pod runs non-root on a read-only root filesystem with no privileges', async (t) => {
  t.equal(pod['securityContext']['runAsNonRoot'], true);
  t.ok(pod['securityContext']['runAsUser'] > 0);
  t.equal(pod['securityContext']['seccompProfile']['type'], 'RuntimeDefault');
  t.equal(container['securityContext']['readOnlyRootFilesystem'], true);
  t.equal(container['securityContext']['allowPrivilegeEscalation'], false);
  t.same(container['securityContext']['capabilities']['drop'], ['ALL']);
  t.equal(pod['automountServiceAccountToken'], false);
});

t.test('scratch is a memory-backed emptyDir mounted where --scratch-dir points', async (t) => {
  t.equal(volume('scratch')['emptyDir']['medium'], 'Memory');
  t.ok(volume('scratch')['emptyDir']['sizeLimit']);
  t.equal(mountOf('scratch')?.['mountPath'], flag('scratch-dir'));
  t.equal(volume('tmp')['emptyDir']['medium'], 'Memory', '/tmp is memory-backed too');
  t.equal(mountOf('tmp')?.['mountPath'], '/tmp');
});

t.test('the tokens file and the TLS key pair come from Secrets mounted read-only', async (t) => {
  t.equal(volume('tokens')['secret']['secretName'], 'infernode-tokens');
  t.equal(volume('tls')['secret']['secretName'], 'infernode-tls');
  t.equal(path.dirname(flag('tokens-file')!), mountOf('tokens')?.['mountPath']);
  t.equal(path.dirname(flag('tls-cert')!), mountOf('tls')?.['mountPath']);
  t.equal(path.dirname(flag('tls-key')!), mountOf('tls')?.['mountPath']);
  for (const name of ['tokens', 'tls', 'models']) t.equal(mountOf(name)?.['readOnly'], true, `${name} is read-only`);
  t.notOk(args.includes('--insecure-no-auth'));
});

t.test('the headless Service and the ServiceMonitor reach the metrics port the daemon opens', async (t) => {
  const service = await manifest('Service');
  const monitor = await manifest('ServiceMonitor');
  t.equal(service['spec']['clusterIP'], 'None');
  t.same(service['spec']['selector'], daemonSet['spec']['selector']['matchLabels']);
  const metricsPort = service['spec']['ports'].find((p: Manifest) => p['name'] === monitor['spec']['endpoints'][0]['port']);
  t.equal(metricsPort['port'], Number(flag('metrics-port')));
  t.equal(monitor['spec']['endpoints'][0]['path'], '/metrics');
  t.same(monitor['spec']['selector']['matchLabels'], service['metadata']['labels']);
});

/** A Dockerfile's stages: name, base image and instructions (continuations joined, comments dropped). */
function dockerStages(text: string): Array<{ name: string; from: string; instructions: string[] }> {
  const lines = text.replace(/\\\n(\s*#.*\n)*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Array<{ name: string; from: string; instructions: string[] }> = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
    else stages.at(-1)?.instructions.push(line);
  }
  return stages;
}

t.test('the Dockerfile builds a cpu and a gpu image in stages, each running as a non-root user', async (t) => {
  const stages = dockerStages(await readFile(path.join(REPO_ROOT, 'deploy', 'docker', 'Dockerfile'), 'utf8'));
  const byName = new Map(stages.map((s) => [s.name, s]));
  for (const target of ['cpu', 'gpu']) {
    const stage = byName.get(target);
    if (!stage) {
      t.fail(`no ${target} stage`);
      continue;
    }
    const user = stage.instructions.filter((i) => /^USER\s/i.test(i)).at(-1)?.split(/\s+/)[1] ?? 'root';
    t.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `${target}: USER is a numeric non-root uid (so runAsNonRoot can verify it)`);
    t.ok(stage.instructions.some((i) => /^COPY\s+--from=build-/i.test(i)), `${target}: copies the build stage's output`);
    t.notOk(stage.instructions.some((i) => /^RUN\s.*npm (ci|install)/i.test(i)), `${target}: installs nothing at runtime`);
    t.match(stage.instructions.find((i) => /^ENTRYPOINT/i.test(i)), /dist\/src\/cli\/infernode\.js/, `${target}: runs the infernode CLI`);
    t.match(stage.instructions.find((i) => /^CMD/i.test(i)), /"serve"/);
    t.ok(stage.instructions.some((i) => /INFERNODE_HOST=0\.0\.0\.0/.test(i)), `${target}: listens beyond loopback`);
    t.ok(stage.instructions.some((i) => /INFERNODE_SCRATCH_DIR=\/scratch/.test(i)), `${target}: scratch on the mounted volume`);
  }
  t.match(byName.get('gpu')?.from, /^\$\{CUDA_IMAGE\}$/);
  t.match(await readFile(path.join(REPO_ROOT, 'deploy', 'docker', 'Dockerfile'), 'utf8'), /ARG CUDA_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-/);
  t.ok(byName.get('build-gpu')?.instructions.some((i) => /ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/.test(i)), 'the gpu build installs the CUDA provider');
  t.ok(byName.get('build-base')?.from.startsWith('node:'), 'the build stage has the node-gyp toolchain');
  t.match(byName.get('cpu')?.from, /-slim$/, 'the cpu runtime is slim');
});

t.test('the Dockerfile.dockerignore keeps host builds and installs out of the image context', async (t) => {
  const ignored = (await readFile(path.join(REPO_ROOT, 'deploy', 'docker', 'Dockerfile.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', 'dist', 'build', '.git', 'models/tiny-*']) t.ok(ignored.includes(entry), entry);
});
