// Curricula by name. An unknown name throws listing the valid ones.
import type { Curriculum } from "./curriculum.js";
import { dapoCurriculum } from "./dapo.js";
import { gresoCurriculum } from "./greso.js";
import { DEFAULT_METIS, metisCurriculum, type MetisOptions } from "./metis.js";
import { moppsCurriculum } from "./mopps.js";
import { pclCurriculum } from "./pcl.js";
import { uniformCurriculum } from "./uniform.js";

export const CURRICULA = ["metis", "uniform", "dapo", "greso", "mopps", "pcl"] as const;
export type CurriculumName = (typeof CURRICULA)[number];

/** Build the curriculum `name`. */
export function makeCurriculum(name: string, metis: MetisOptions = DEFAULT_METIS): Curriculum {
  switch (name) {
    case "metis": return metisCurriculum(metis);
    case "uniform": return uniformCurriculum();
    case "dapo": return dapoCurriculum();
    case "greso": return gresoCurriculum();
    case "mopps": return moppsCurriculum();
    case "pcl": return pclCurriculum();
    default: throw new Error(`unknown scheduler "${name}" (valid: ${CURRICULA.join(", ")})`);
  }
}
