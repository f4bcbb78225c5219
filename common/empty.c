/* placeholder translation unit for modules that have no sources yet */
typedef int omx_empty_translation_unit;
