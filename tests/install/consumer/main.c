/* A program outside the project, built against the installed library. */
#include <bigmultipipe.h>
#include <stdio.h>

int main(void)
{
    if (bmp_version_number() != BMP_VERSION_NUMBER) {
        fprintf(stderr, "header and library versions differ\n");
        return 1;
    }
    bmp_pipe *pipe = bmp_pipe_new(NULL, NULL);
    json_t *none = json_array();
    bmp_pout *pout = NULL;
    int rc = bmp_pipeline(pipe, none, NULL, NULL, NULL, &pout, NULL);
    printf("bigmultipipe %s: %d items\n", bmp_version_string(),
           (int)bmp_pout_count(pout));
    bmp_pout_free(pout);
    json_decref(none);
    bmp_pipe_free(pipe);
    return rc == 0 ? 0 : 1;
}
