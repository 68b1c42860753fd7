/**
 * TF Serving's rule for `version_labels` in a new config (ServerCore::UpdateModelVersionLabelMap, checked
 * before the new config's models load): a label may only point to a version that is AVAILABLE at that moment,
 * so an initial config with labels is refused, and labels are added by reloading the config once the version
 * serves. With `--allow_version_labels_for_unavailable_models`, a label that is new, or keeps the version it
 * has, may point to any version; moving an existing label still needs the new version to be available (so a
 * label never points at a version that is still loading during a swap).
 */
import { FailedPreconditionError } from '../errors';
import type { ModelServerConfigObject } from './config';
import type { VersionStatus } from './versions';

/** What the check needs of a model: the status of its versions. */
interface VersionsView {
  status(): VersionStatus[];
}

/**
 * Throws FailedPreconditionError (TF Serving's message) when `next` assigns a label that the rule above
 * refuses. `previous` is the config in force (its labels are the current label map when `previousApplied`).
 */
export function checkVersionLabels(
  next: ModelServerConfigObject,
  previous: ModelServerConfigObject,
  model: (name: string) => VersionsView | undefined,
  allowUnavailable: boolean,
  previousApplied: boolean,
): void {
  for (const c of next.modelConfigList.config) {
    const labels = Object.entries(c.versionLabels ?? {});
    if (labels.length === 0) continue;
    const oldLabels = previousApplied ? (previous.modelConfigList.config.find((p) => p.name === c.name)?.versionLabels ?? {}) : {};
    let available: Set<number> | null = null;
    for (const [label, version] of labels) {
      const existing = Object.prototype.hasOwnProperty.call(oldLabels, label) ? oldLabels[label] : undefined;
      if (allowUnavailable && (existing === undefined || existing === version)) continue;
      if (available === null) {
        let states: VersionStatus[] = [];
        try {
          states = model(c.name)?.status() ?? [];
        } catch {
          states = []; // no versions known yet
        }
        available = new Set(states.filter((s) => s.state === 'AVAILABLE').map((s) => s.version));
      }
      if (!available.has(version)) {
        throw new FailedPreconditionError(
          `Request to assign label to version ${version} of model ${c.name}, which is not currently available for inference`,
        );
      }
    }
  }
}
