/** The code identity this build reports; its virtual measurement is what joiners must present. */
export const CODE_ID = "coterie/0.1.0";
