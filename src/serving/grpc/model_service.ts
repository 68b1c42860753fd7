/**
 * `tensorflow.serving.ModelService`: GetModelStatus and HandleReloadConfigRequest (model_service_impl.cc,
 * get_model_status_impl.cc).
 */
import { InvalidArgumentError, UnimplementedError } from '../../errors';
import { toBigInt } from '../../proto';
import type { ModelConfigObject, ModelServerConfigObject, VersionPolicyObject } from '../config';
import { servingTypes } from '../proto';
import { decodeRequest, ModelSpecMessage, queryOf, unary } from './call';
import type { ServingBackend } from './prediction_service';

type Int64 = number | { low: number; high: number };

interface ModelConfigMessage {
  name?: string;
  basePath?: string;
  modelPlatform?: string;
  modelType?: number;
  modelVersionPolicy?: { latest?: { numVersions?: number }; all?: object; specific?: { versions?: Int64[] } } | null;
  versionLabels?: Record<string, Int64>;
}

function safe(v: Int64, what: string): number {
  const b = toBigInt(v as number);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) throw new InvalidArgumentError(`${what}: ${b} is out of range`);
  return Number(b);
}

/** A ModelServerConfig message (decoded) as the object ModelServer takes. */
export function configFromMessage(msg: { modelConfigList?: { config?: ModelConfigMessage[] } | null; customModelConfig?: unknown }): ModelServerConfigObject {
  if (msg.customModelConfig) throw new UnimplementedError('custom_model_config is not supported');
  const config: ModelConfigObject[] = (msg.modelConfigList?.config ?? []).map((c) => {
    const out: ModelConfigObject = { name: c.name ?? '', basePath: c.basePath ?? '' };
    if (c.modelPlatform) out.modelPlatform = c.modelPlatform;
    const p = c.modelVersionPolicy;
    if (p) {
      const policy: VersionPolicyObject = {};
      if (p.latest) policy.latest = p.latest.numVersions ? { numVersions: p.latest.numVersions } : {};
      else if (p.all) policy.all = {};
      else if (p.specific) policy.specific = { versions: (p.specific.versions ?? []).map((v) => safe(v, 'specific version')) };
      out.modelVersionPolicy = policy;
    }
    const labels = Object.entries(c.versionLabels ?? {});
    if (labels.length) out.versionLabels = Object.fromEntries(labels.map(([k, v]) => [k, safe(v, `version label ${k}`)]));
    return out;
  });
  return { modelConfigList: { config } };
}

/** The ModelService implementation over `backend`. */
export function modelServiceHandlers(backend: ServingBackend) {
  return {
    GetModelStatus: unary((raw) => {
      const req = decodeRequest<{ modelSpec?: ModelSpecMessage }>(servingTypes().GetModelStatusRequest, raw);
      const statuses = backend.getModelStatus(queryOf(req.modelSpec));
      return {
        modelVersionStatus: statuses.map((s) => ({
          version: s.version,
          state: s.state,
          status: { errorCode: s.status.errorCode, errorMessage: s.status.errorMessage },
        })),
      };
    }),
    HandleReloadConfigRequest: unary(async (raw) => {
      const req = decodeRequest<{ config?: Parameters<typeof configFromMessage>[0] }>(servingTypes().ReloadConfigRequest, raw);
      await backend.reloadConfig(configFromMessage(req.config ?? {}));
      return { status: { errorCode: 'OK', errorMessage: '' } };
    }),
  };
}
