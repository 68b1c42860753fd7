/**
 * `tensorflow.serving.ModelService`: GetModelStatus and HandleReloadConfigRequest (model_service_impl.cc,
 * get_model_status_impl.cc).
 */
import { configFromMessage, ModelServerConfigMessage } from '../config';
import { servingTypes } from '../proto';
import { decodeRequest, ModelSpecMessage, queryOf, unary } from './call';
import type { ServingBackend } from './prediction_service';

/** The ModelService implementation over `backend`. */
export function modelServiceHandlers(backend: ServingBackend) {
  const admit = backend.admit?.bind(backend);
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
    }, admit),
    HandleReloadConfigRequest: unary(async (raw) => {
      const req = decodeRequest<{ config?: ModelServerConfigMessage }>(servingTypes().ReloadConfigRequest, raw);
      await backend.reloadConfig(configFromMessage(req.config ?? {}));
      return { status: { errorCode: 'OK', errorMessage: '' } };
    }, admit),
  };
}
